"""Correctness checks for an embedder, the silent mistakes of this field made loud.

Each check returns (passed, one-line reason). They run in fp32 so that a real difference
is not hidden by bf16 rounding; the bf16 check then reports how far bf16 moves things.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embedtune.errors import EmbedtuneError
from embedtune.evaluation.sts import cosine
from embedtune.models import Embedder

TEXTS = [
    "A man is playing a guitar on a street corner.",
    "Two dogs run across a snowy field.",
    "The central bank raised interest rates on Tuesday.",
    "How do I reset my password?",
    "She said no.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "A child reads a book under a tree while her father cooks dinner in the kitchen nearby.",
    "ok",
    "The quick brown fox jumps over the lazy dog.",
    "Stocks fell sharply after the announcement, erasing the week's gains.",
    "Is it going to rain tomorrow in Paris?",
    "Proteins fold into three-dimensional structures determined by their amino-acid sequence.",
]


def least_agreement(ours: Callable, theirs: Callable) -> float:
    """Least cosine between two ways of embedding the check texts (each a function of a list
    of texts), as one padded batch of mixed lengths and as one text alone (no padding mask
    at all: where attention kernels fall back on a module's own causal flag)."""
    least = 1.0
    for texts in (TEXTS, TEXTS[:1]):
        a = np.asarray(ours(texts), np.float32)
        b = np.asarray(theirs(texts), np.float32)
        least = min(least, float(cosine(a, b).min()))
    return least


@dataclass
class CheckResult:
    name: str
    passed: bool
    reason: str


def check_eos(emb: Embedder) -> tuple[bool, str]:
    if emb.config.pooling != "last_token":
        return True, f"not needed ({emb.config.pooling} pooling)"
    eos = emb.tokenizer.eos_token_id
    if eos is None or not emb.config.append_eos:
        return (
            False,
            "last-token pooling without an appended EOS: the embedding is the state of the last word, not of EOS",
        )
    ids = emb.token_ids(TEXTS)
    missing = sum(1 for x in ids if x[-1] != eos)
    return (
        missing == 0,
        f"EOS (id {eos}) is the last token of {len(ids) - missing}/{len(ids)} texts",
    )


def check_padding(emb: Embedder) -> tuple[bool, str]:
    side = emb.config.padding_side
    emb.config.padding_side = "left"
    left = emb.encode(TEXTS, batch_size=len(TEXTS))
    emb.config.padding_side = "right"
    right = emb.encode(TEXTS, batch_size=len(TEXTS))
    emb.config.padding_side = side
    diff = float(np.abs(left - right).max())
    return diff <= 1e-4, f"left vs right padding: max abs difference {diff:.2e}"


def check_batch_size(emb: Embedder) -> tuple[bool, str]:
    one = emb.encode(TEXTS, batch_size=1)
    many = emb.encode(TEXTS, batch_size=32)
    diff = float(np.abs(one - many).max())
    return diff <= 1e-4, f"batch size 1 vs 32: max abs difference {diff:.2e}"


def check_merge(emb: Embedder, source: str) -> tuple[bool, str]:
    if not emb.config.adapter:
        return True, "not needed (full weights, no LoRA adapter)"
    merged = Embedder.load(source, dtype="fp32", trust_remote_code=emb.config.trust_remote_code)
    merged.backbone = merged.backbone.merge_and_unload()
    cos = cosine(emb.encode(TEXTS), merged.encode(TEXTS)).min()
    return cos >= 0.9999, f"merged vs adapter model: min cosine {cos:.6f}"


def check_export(emb: Embedder, source: str) -> tuple[bool, str]:
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        return True, "skipped (sentence-transformers not installed)"
    from embedtune.export.export import export, sentence_transformers_agreement

    if emb.config.prompt.partition("{}")[2]:
        return True, "skipped (a prompt with a suffix has no sentence-transformers form)"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            trust = emb.config.trust_remote_code
            export(source, f"{tmp}/st", "sentence-transformers", True, trust_remote_code=trust)
        except EmbedtuneError as e:
            return False, f"export failed: {e}"
        cos = sentence_transformers_agreement(emb, Path(tmp) / "st")
    return (
        cos >= 0.9999,
        f"exported sentence-transformers model vs embedtune, a padded batch of {len(TEXTS)}: "
        f"min cosine {cos:.6f}",
    )


def check_bf16(emb: Embedder) -> tuple[bool, str]:
    fp32 = emb.encode(TEXTS)
    emb.compute_dtype = "bf16"
    try:
        bf16 = emb.encode(TEXTS)
    finally:
        emb.compute_dtype = "fp32"
    cos = cosine(fp32, bf16)
    return cos.min() >= 0.99, f"bf16 vs fp32: mean cosine {cos.mean():.5f}, min {cos.min():.5f}"


def run_checks(source: str, **overrides) -> list[CheckResult]:
    emb = Embedder.load(source, dtype="fp32", **overrides)
    checks: list[tuple[str, Callable[[], tuple[bool, str]]]] = [
        ("eos", lambda: check_eos(emb)),
        ("padding", lambda: check_padding(emb)),
        ("batch-size", lambda: check_batch_size(emb)),
        ("merge", lambda: check_merge(emb, source)),
        ("export", lambda: check_export(emb, source)),
        ("bf16", lambda: check_bf16(emb)),
    ]
    # export and merge reload the source as saved, which would undo the overrides
    if set(overrides) - {"trust_remote_code"}:
        checks = [c for c in checks if c[0] not in ("merge", "export")]
    results = []
    for name, fn in checks:
        passed, reason = fn()
        results.append(CheckResult(name, passed, reason))
    return results
