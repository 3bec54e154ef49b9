"""Exact search over quantized document vectors, as a store of int8 or binary vectors
would answer, optionally rescoring binary candidates with the int8 vectors.

- ``int8``: documents quantized per dimension on the corpus's own ranges, queries kept in
  float32 (asymmetric: only stored vectors are quantized); scores are query x de-quantized
  document.
- ``ubinary``: both sides reduced to signs; candidates ranked by Hamming distance. With
  ``rescore`` = m, the top m x 100 candidates of each query (100: the deepest cut-off
  reported, MAP@100 and Recall@100) are rescored with float query x int8 document and
  re-ranked: the binary index finds candidates at 1/32 of the memory, the int8 copy (on disk
  in practice) orders them.
"""

from __future__ import annotations

import torch

from embedtune.evaluation.retrieval import top_k
from embedtune.quantization import from_int8, int8_ranges, signs, to_int8, to_ubinary

RESCORE_DEPTH = 100


def _int8_view(docs: torch.Tensor) -> torch.Tensor:
    d = docs.numpy()
    lo, hi = int8_ranges(d)
    return torch.from_numpy(from_int8(to_int8(d, lo, hi), lo, hi))


def quantized_top_k(
    queries: torch.Tensor,
    docs: torch.Tensor,
    k: int,
    precision: str,
    exclude: list[int] | None = None,
    rescore: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(scores, document rows), each (Q, k') best first, searching ``docs`` stored at
    ``precision``; k' is k, or m x 100 candidates when binary results are rescored."""
    if precision == "float32":
        return top_k(queries, docs, k, exclude)
    if precision == "int8":
        return top_k(queries, _int8_view(docs), k, exclude)
    dim = docs.shape[1]
    q_bits = torch.from_numpy(signs(to_ubinary(queries.numpy()), dim))
    d_bits = torch.from_numpy(signs(to_ubinary(docs.numpy()), dim))
    if not rescore:
        return top_k(q_bits, d_bits, k, exclude)
    _, rows = top_k(q_bits, d_bits, min(rescore * RESCORE_DEPTH, len(docs)), exclude)
    d8 = _int8_view(docs)
    scores = torch.einsum("qd,qkd->qk", queries.float(), d8[rows])
    order = scores.argsort(dim=1, descending=True)
    return scores.gather(1, order), rows.gather(1, order)
