"""Smaller stored vectors: int8 (1 byte a dimension, 1/4 of float32) and packed binary (1 bit
a dimension, 1/32), as sentence-transformers' ``quantize_embeddings`` names them.

int8 maps each dimension's range, measured on a calibration set (the corpus itself, or the
ranges saved when it was embedded, so queries and documents share one scale), onto
[-128, 127]. ``ubinary`` keeps the sign of each dimension, 8 to a byte
(``numpy.packbits``); its dot product with another sign vector is D - 2 x Hamming distance,
so ranking by it is ranking by Hamming distance.

>>> lo, hi = int8_ranges(np.array([[-1.0, 0.0], [1.0, 2.0]]))
>>> to_int8(np.array([[-1.0, 2.0], [1.0, 0.0]]), lo, hi).tolist()
[[-128, 127], [127, -128]]
"""

from __future__ import annotations

import numpy as np

from embedtune.errors import ConfigError

PRECISIONS = ("float32", "int8", "ubinary")


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return precision


def bytes_per_vector(precision: str, dim: int) -> int:
    return {"float32": 4 * dim, "int8": dim, "ubinary": -(-dim // 8)}[check_precision(precision)]


def int8_ranges(calibration: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension (min, max) of the calibration embeddings."""
    x = np.asarray(calibration, dtype=np.float32)
    return x.min(axis=0), x.max(axis=0)


def to_int8(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Each dimension's [lo, hi] onto [-128, 127], rounded; values outside are clipped."""
    scale = np.where(hi > lo, (hi - lo) / 255.0, 1.0)
    q = np.rint((np.asarray(x, np.float32) - lo) / scale) - 128
    return np.clip(q, -128, 127).astype(np.int8)


def from_int8(q: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The float vectors int8 codes stand for (the centre of each code's bucket)."""
    scale = np.where(hi > lo, (hi - lo) / 255.0, 1.0)
    return (q.astype(np.float32) + 128) * scale + lo


def to_ubinary(x: np.ndarray) -> np.ndarray:
    """Signs packed 8 to a byte, (N, ceil(D/8)) uint8."""
    return np.packbits(np.asarray(x) > 0, axis=1)


def signs(packed: np.ndarray, dim: int) -> np.ndarray:
    """Packed bits back to (N, dim) +-1 float32 (their dot product ranks by Hamming distance)."""
    return np.unpackbits(packed, axis=1, count=dim).astype(np.float32) * 2 - 1
