"""A rotation of the embedding space that puts most of a corpus's variance in the first
dimensions, so that a prefix of every vector is the best view of that size (PCA).

Why: a user who stores 80 of 640 dimensions keeps whatever the first 80 happen to hold.
A low-rank adapter trained for an epoch moves the model's output space only a little, so
even Matryoshka training leaves much of each prefix's worth in the other dimensions. An
orthogonal matrix fitted on texts like the ones to be searched moves it to the front after
the fact. Being orthogonal, it changes no cosine at full size; it is stored beside
the weights (``rotation.npy``) and applied after pooling, so every command, the server and
the exports embed the same way.

>>> x = np.array([[3.0, 0.1], [-3.0, 0.2], [2.5, -0.1]])
>>> r = fit_rotation(x[:, ::-1])            # the variance sits in the second dimension
>>> np.abs((x[:, ::-1] @ r.T)[:, 0]).round(1)  # and moves to the first
array([3. , 3. , 2.5])
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedtune.errors import ConfigError

ROTATION_FILE = "rotation.npy"


def fit_rotation(embeddings: np.ndarray) -> np.ndarray:
    """(D, D) orthogonal float32 matrix whose rows are the principal directions of the unit
    rows of ``embeddings`` (not centred: a rotation about the origin keeps cosines), most
    variance first; apply it as ``x @ R.T``. Each direction's sign is fixed (its largest
    entry positive), so the same texts give the same matrix."""
    x = np.asarray(embeddings, dtype=np.float64)
    n, dim = x.shape
    if n < dim:
        raise ConfigError(
            f"a rotation of {dim} dimensions needs at least {dim} texts to fit on, got {n}"
        )
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    signs = np.sign(vt[np.arange(dim), np.abs(vt).argmax(axis=1)])
    return (vt * signs[:, None]).astype(np.float32)


def save_rotation(folder: Path, matrix: np.ndarray) -> None:
    np.save(Path(folder) / ROTATION_FILE, np.asarray(matrix, dtype=np.float32))


def read_rotation(folder: Path, dim: int) -> np.ndarray:
    """The saved matrix, checked: square of the model's size and orthogonal."""
    path = Path(folder) / ROTATION_FILE
    if not path.is_file():
        raise ConfigError(f"{folder}: embedtune.json names a `rotation` but {path} is missing")
    try:
        matrix = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise ConfigError(f"{path}: not a saved array ({e})") from None
    if matrix.shape != (dim, dim):
        raise ConfigError(f"{path}: shape {matrix.shape}, expected ({dim}, {dim}) for this model")
    error = np.abs(matrix.astype(np.float64) @ matrix.T.astype(np.float64) - np.eye(dim)).max()
    if not error < 1e-3:
        raise ConfigError(f"{path}: not orthogonal (largest error of R R^T - I is {error:.3g})")
    return matrix.astype(np.float32)
