"""Retrieval evaluation with MTEB's protocol: embed the corpus and the queries (each with
its own prompt when the model has query / document prompts), rank every
document for every query by cosine similarity (exact search), score the top 1,000 against
the qrels with trec_eval's definitions.

Exact search is done block by block with a running top-k (``top_k``), so memory is bounded
by ``max_score_mib``, not by queries x documents. A document whose id equals the query's
id is dropped from that query's ranking (BEIR's rule, which MTEB keeps: ArguAna's queries
are themselves corpus documents). The metrics come from ``pytrec_eval`` (trec_eval's C
code), as MTEB's do; MRR@10 is trec_eval's reciprocal rank over the top 10.

>>> r = retrieval_metrics({"q": {"d1": 1}}, {"q": {"d0": 0.9, "d1": 0.8}})
>>> r["mrr_at_10"], r["recall_at_100"]
(50.0, 100.0)
"""

from __future__ import annotations

import time

import numpy as np
import torch

from embedtune.data.beir import RetrievalData
from embedtune.evaluation.corpus_cache import embed_corpus
from embedtune.quantization import bytes_per_vector

TOP_K = 1000  # MTEB ranks the top 1,000 documents of each query
# embedtune key -> trec_eval measure (pytrec_eval's name of its result)
MEASURES = {
    "ndcg_at_10": ("ndcg_cut.10", "ndcg_cut_10"),
    "map_at_100": ("map_cut.100", "map_cut_100"),
    "recall_at_100": ("recall.100", "recall_100"),
    "precision_at_10": ("P.10", "P_10"),
}


def top_k(
    queries: torch.Tensor,
    docs: torch.Tensor,
    k: int,
    exclude: list[int] | None = None,
    max_score_mib: float = 256.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` highest dot products of each query row with the document rows: (scores,
    document indices), each (Q, k), best first.

    ``exclude[i]`` (or -1) is a document index query ``i`` may not retrieve. The score
    matrix is never built whole: a block of queries meets a block of documents at a time
    and the best ``k`` so far are kept, so the working memory is about ``max_score_mib``.
    """
    k = min(k, len(docs))
    n_q, n_d = len(queries), len(docs)
    floats = max(1, int(max_score_mib * 2**20 / 4))
    q_block = max(1, min(n_q, floats // (2 * (k + 1024))))
    d_block = max(1024, floats // q_block - k)
    skip = torch.as_tensor(exclude if exclude is not None else [-1] * n_q, dtype=torch.long)
    best_s = torch.empty((n_q, k), dtype=torch.float32)
    best_i = torch.empty((n_q, k), dtype=torch.long)
    for q0 in range(0, n_q, q_block):
        q = queries[q0 : q0 + q_block].float()
        run_s = torch.full((len(q), 0), float("-inf"))
        run_i = torch.empty((len(q), 0), dtype=torch.long)
        for d0 in range(0, n_d, d_block):
            s = q @ docs[d0 : d0 + d_block].float().T
            own = skip[q0 : q0 + len(q)] - d0
            rows = ((own >= 0) & (own < s.shape[1])).nonzero().flatten()
            s[rows, own[rows]] = float("-inf")
            idx = torch.arange(d0, d0 + s.shape[1]).expand(len(q), -1)
            cand_s, cand_i = torch.cat([run_s, s], 1), torch.cat([run_i, idx], 1)
            run_s, pick = cand_s.topk(min(k, cand_s.shape[1]), dim=1)
            run_i = cand_i.gather(1, pick)
        best_s[q0 : q0 + len(q)], best_i[q0 : q0 + len(q)] = run_s, run_i
    return best_s, best_i


def retrieval_metrics(
    qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]
) -> dict[str, float]:
    """trec_eval's nDCG@10, MAP@100, MRR@10, Recall@100 and P@10 (x 100), averaged over the
    queries of ``qrels``, for a ``run`` of query id -> {document id: score}."""
    import pytrec_eval

    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {m for m, _ in MEASURES.values()})
    per_query = evaluator.evaluate(run)
    top10 = {q: dict(sorted(d.items(), key=lambda x: -x[1])[:10]) for q, d in run.items()}
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    n = len(qrels)
    # a query of the qrels that the run lacks scores 0 (trec_eval -c); ours never lack one
    out = {
        key: 100 * sum(per_query.get(q, {}).get(name, 0.0) for q in qrels) / n
        for key, (_, name) in MEASURES.items()
    }
    out["mrr_at_10"] = 100 * sum(rr.get(q, {}).get("recip_rank", 0.0) for q in qrels) / n
    return out


def unit_rows(x: np.ndarray) -> torch.Tensor:
    """float32 rows scaled to length 1 (cosine similarity becomes a dot product)."""
    t = torch.as_tensor(x, dtype=torch.float32)
    return t / t.norm(dim=1, keepdim=True).clamp_min(1e-12)


def evaluate_retrieval_task(
    embedder,
    task: RetrievalData,
    batch_size: int = 32,
    show_progress: bool | None = None,
    max_score_mib: float = 256.0,
    corpus_cache: bool = True,
    precision: str = "float32",
    rescore: int = 0,
) -> dict:
    """Score one retrieval task: the metrics, the counts, and where the seconds went.
    ``corpus_cache``: reuse (and keep) the corpus embeddings on disk (``corpus_cache.py``).
    ``precision`` / ``rescore``: search documents stored as int8 or binary vectors
    (``quantized.py``)."""
    start = time.perf_counter()
    table, cached = embed_corpus(
        embedder, task.docs, task.corpus_sha256, batch_size, show_progress, corpus_cache
    )
    docs = unit_rows(table)
    doc_seconds = time.perf_counter() - start
    queries = unit_rows(
        embedder.encode(
            task.queries, batch_size=batch_size, show_progress=show_progress, role="query"
        )
    )
    row_of = {d: i for i, d in enumerate(task.doc_ids)}
    exclude = [row_of.get(q, -1) for q in task.query_ids]
    if precision == "float32":
        scores, rows = top_k(queries, docs, TOP_K, exclude, max_score_mib)
    else:
        from embedtune.evaluation.quantized import quantized_top_k

        scores, rows = quantized_top_k(queries, docs, TOP_K, precision, exclude, rescore)
    run = {
        q: {task.doc_ids[i]: float(s) for s, i in zip(srow.tolist(), irow.tolist())}
        for q, srow, irow in zip(task.query_ids, scores, rows)
    }
    return {
        **retrieval_metrics(task.qrels, run),
        "queries": len(task.queries),
        "documents": len(task.docs),
        "missing_qrels_docs": task.missing_docs,
        "precision": precision
        + (f"+rescore{rescore}" if rescore and precision == "ubinary" else ""),
        "bytes_per_vector": bytes_per_vector(precision, docs.shape[1]),
        **(
            {"rescore_bytes_per_vector": docs.shape[1]}
            if rescore and precision == "ubinary"
            else {}
        ),
        "corpus_from_cache": cached,
        "corpus_seconds": round(doc_seconds, 2),
        "seconds": round(time.perf_counter() - start, 2),
    }
