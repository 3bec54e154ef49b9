"""Corpus embeddings kept on disk, so scoring a model again (or mining with it) does not
re-embed a corpus it has already embedded.

The key must change whenever the vectors would: the corpus file (its sha256), every
embedding setting (pooling, prompt, length limit, EOS, normalisation, dtype) and the
weights. Weights are identified by what they do rather than where they came from: the
embeddings of a few fixed probe texts, hashed. A retrained run in the same folder, a LoRA
adapter, a Hub model and a local copy each get their own key, with no file walking, and a
stale entry can never be served for changed weights (it would need identical probe
vectors). Entries are written atomically (``<key>.npy`` in ``$EMBEDTUNE_CACHE/corpus``).
A rotated model's entries are its vectors before the rotation, keyed as the unrotated model,
and rotated when read: scoring a model after ``embedtune rotate`` embeds only the queries.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from embedtune.atomic import atomic_file
from embedtune.evaluation.dims import Memo
from embedtune.log import log
from embedtune.paths import cache_dir

PROBES = [
    "A man is playing a guitar.",
    "The quick brown fox jumps over the lazy dog.",
    "Mitochondria are the powerhouse of the cell, and 7 x 6 = 42.",
]


def cache_key(embedder, corpus_sha256: str, role: str = "document") -> str:
    cfg = embedder.config
    probe = embedder.encode(PROBES, batch_size=len(PROBES), role=role)
    probe = np.ascontiguousarray(probe, np.float32)
    settings = {
        "corpus_sha256": corpus_sha256,
        "role": role,
        "pooling": cfg.pooling,
        "prompt": cfg.prompt_for(role),
        "max_length": cfg.max_length,
        "append_eos": cfg.append_eos,
        "normalize": cfg.normalize,
        "dtype": embedder.compute_dtype,
    }
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    h.update(probe.round(5).tobytes())  # rounding: the same weights on another thread count
    return h.hexdigest()[:32]


def embed_corpus(
    embedder,
    texts: list[str],
    corpus_sha256: str,
    batch_size: int = 32,
    show_progress: bool | None = None,
    cache: bool = True,
) -> tuple[np.ndarray, bool]:
    """(embeddings of the corpus ``texts``, with the document prompt; whether they came
    from the cache)."""

    def encode() -> np.ndarray:
        return embedder.encode(
            texts, batch_size=batch_size, show_progress=show_progress, role="document"
        )

    if not cache:
        return encode(), False
    if isinstance(embedder, Memo):  # evaluate --dims: the memo's encode is the embedder's
        embedder = embedder.embedder
    rotation = getattr(embedder, "rotation", None)
    if rotation is not None:
        # kept unrotated: a rotation comes after pooling (``embedtune rotate``), so one
        # encoding of a corpus serves the model and every rotation of it
        with embedder.unrotated():
            table, cached = embed_corpus(embedder, texts, corpus_sha256, batch_size, show_progress)
        return table @ rotation.cpu().numpy().T, cached
    path = Path(cache_dir("corpus"), cache_key(embedder, corpus_sha256) + ".npy")
    if path.is_file():
        table = np.load(path)
        if table.shape[0] == len(texts):
            log.info(f"corpus embeddings from the cache ({path})")
            return table, True
    table = encode()
    with atomic_file(path, needed_bytes=table.nbytes + 2**20, what="the corpus cache") as tmp:
        np.save(tmp, table)
    return table, False
