"""An embedder as one ONNX graph (backbone + pooling + normalisation), for ONNX Runtime.

The graph takes the token batch :meth:`Embedder.collate` makes (ids, attention mask and,
for models that take them, position ids from the mask) and returns the sentence embedding,
so tokenization, prompts, truncation and the appended EOS stay in Python, shared with the
PyTorch path, and only the maths moves. Weights are float32: ONNX Runtime's CPU kernels
have no fast bf16 matmul.

The graph is traced with PyTorch's TorchScript exporter: the dynamo exporter took minutes
for a 2-layer model here, and the traced graph proved shape-independent (tested on batches
and lengths other than the traced one, under both paddings and sliding-window attention).

Attention is traced in transformers' eager form (scores + additive mask, softmax), whatever
the model runs with in PyTorch: the exporter spells SDPA out with a ``Where`` and an ``IsNaN``
over every layer's full (batch, heads, length, length) scores, which took 26-45 % of ONNX
Runtime's kernel time on 512-token documents for all-MiniLM-L6-v2 (benchmarks/onnx_profile.py).
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from embedtune.errors import EmbedtuneError
from embedtune.models.embedder import Embedder
from embedtune.models.onnx_embedder import ONNX_FILE, OnnxEmbedder, require_onnx

OPSET = 18


class _Graph(nn.Module):
    """What the exported graph computes: the embedder's forward on named tensors."""

    def __init__(self, emb: Embedder, names: list[str]):
        super().__init__()
        self.emb, self.names = emb, names

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return self.emb.forward(dict(zip(self.names, tensors)))


@contextmanager
def eager_attention(emb: Embedder):
    """Run ``emb`` with transformers' eager attention inside the block, as it was after."""
    model = emb.base_model
    before = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        yield
    finally:
        model.set_attn_implementation(before)


def write_onnx(emb: Embedder, folder: Path) -> Path:
    """Trace ``emb`` (float32, on CPU) into ``folder/model.onnx`` with the batch and sequence
    dimensions left free, and save its tokenizer and settings beside it."""
    from embedtune.export.checks import TEXTS

    require_onnx("onnx")  # the tracer writes the file with it
    emb = emb.float().cpu().eval()
    batch = emb.collate(emb.token_ids(TEXTS[:3]))
    names = list(batch)
    free = {name: {0: "batch", 1: "sequence"} for name in names}
    with eager_attention(emb), warnings.catch_warnings():  # warnings: the tracer's notes
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Graph(emb, names).eval(),
            tuple(batch[n] for n in names),
            str(folder / ONNX_FILE),
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes={**free, "sentence_embedding": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
    emb.tokenizer.save_pretrained(folder)
    emb.config.save(folder)
    return folder / ONNX_FILE


def onnx_agreement(emb: Embedder, folder: Path) -> float:
    """Least cosine between PyTorch's and ONNX Runtime's embeddings of the check texts (a
    padded batch of mixed lengths and one text alone: shapes other than the traced one)."""
    from embedtune.export.checks import least_agreement

    onnx = OnnxEmbedder.load(folder)
    return least_agreement(
        lambda texts: emb.encode(texts, batch_size=len(texts)),
        lambda texts: onnx.encode(texts, batch_size=len(texts)),
    )


def export_onnx(emb: Embedder, folder: Path) -> None:
    """Write the graph and refuse it unless ONNX Runtime embeds as PyTorch does."""
    write_onnx(emb, folder)
    cos = onnx_agreement(emb, folder)
    if cos < 0.9999:
        raise EmbedtuneError(
            f"the ONNX graph embeds differently from PyTorch (min cosine {cos:.6f} < 0.9999); "
            "export with --format hf or sentence-transformers"
        )
