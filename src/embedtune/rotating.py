"""``embedtune rotate``: a model folder whose embeddings are rotated so their first
dimensions carry the most variance of a user's texts (models/rotation.py says why).

The texts are embedded as the model embeds them (prompt, role, precision), the rotation is
fitted on those vectors, and the model is written again in float32 with the rotation
beside it, so the new folder embeds exactly as the old one rotated: the same cosines at
full size, better prefixes. A model that is already rotated gains a second rotation, fitted
on its rotated vectors and composed with the first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedtune.atomic import atomic_dir
from embedtune.errors import ConfigError
from embedtune.log import log
from embedtune.models import Embedder
from embedtune.models.rotation import fit_rotation


def sample_texts(texts: list[str], limit: int, seed: int = 0) -> list[str]:
    """At most ``limit`` of ``texts``, drawn without replacement, in file order."""
    if limit < 1:
        raise ConfigError(f"--limit must be >= 1, got {limit}")
    if len(texts) <= limit:
        return list(texts)
    pick = np.sort(np.random.default_rng(seed).permutation(len(texts))[:limit])
    return [texts[i] for i in pick]


def rotate_model(
    model: str,
    texts: list[str],
    output: str | Path,
    fitted_on: str,
    overrides: dict,
    role: str | None = None,
    batch_size: int = 32,
) -> tuple[Embedder, np.ndarray]:
    """Write ``model`` rotated by a fit on ``texts`` to ``output``; returns the saved
    embedder and the variance share of each new dimension (descending)."""
    from embedtune.models.onnx_embedder import OnnxEmbedder

    embedder = Embedder.load(model, **overrides)
    if isinstance(embedder, OnnxEmbedder):
        raise ConfigError(
            f"{model} is an ONNX export, whose graph cannot take a rotation: rotate the "
            "model it was exported from, then export that"
        )
    if len(texts) < embedder.dim:
        raise ConfigError(
            f"{fitted_on}: {len(texts)} texts; a rotation of this model's {embedder.dim} "
            f"dimensions needs at least {embedder.dim}"
        )
    vectors = embedder.encode(texts, batch_size=batch_size, show_progress=True, role=role)
    matrix = fit_rotation(vectors)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    variance = ((unit @ matrix.T) ** 2).mean(axis=0)
    if embedder.compute_dtype != "fp32" or embedder.device.type != "cpu":
        # the weights were loaded in the compute precision; write the originals
        keep = {k: v for k, v in overrides.items() if k not in ("dtype", "device")}
        embedder = Embedder.load(model, **keep, dtype="fp32", device="cpu")
    previous = embedder.config.rotation
    embedder.rotate(matrix, fitted_on + (f", after {previous}" if previous else ""))
    nbytes = sum(p.numel() * p.element_size() for p in embedder.parameters())
    with atomic_dir(Path(output), nbytes, f"the rotated model {output}") as tmp:
        embedder.save(tmp)
    log.info(f"rotated {model} ({embedder.config.rotation}) -> {output}")
    return embedder, variance / variance.sum()
