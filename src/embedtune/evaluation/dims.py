"""Scores at several embedding sizes from one encoding: each text is embedded once at full
size, and every smaller size scores its first d dimensions, re-normalised (what a user who
truncates stored vectors gets; what Matryoshka training optimises).

>>> view = PrefixView(Memo(embedder), 64)      # doctest: +SKIP
>>> view.encode(["a text"]).shape              # doctest: +SKIP
(1, 64)
"""

from __future__ import annotations

import numpy as np

from embedtune.errors import ConfigError


def check_eval_dims(dims: list[int], model_dim: int) -> list[int]:
    """``dims`` as a descending list without repeats, each in [1, model_dim]."""
    bad = [d for d in dims if not 1 <= d <= model_dim]
    if not dims or bad:
        raise ConfigError(f"--dims must be integers in [1, {model_dim}], got {dims}")
    return sorted(set(dims), reverse=True)


class Memo:
    """Full-size embeddings of each (texts, role) asked for, computed once. It stands in
    for the embedder itself too, so the full-size evaluation fills it for the smaller sizes."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.config = embedder.config
        self.compute_dtype = embedder.compute_dtype
        self.dim = embedder.dim
        self._done: dict[tuple, np.ndarray] = {}

    def has(self, texts, role) -> bool:
        return (role, tuple(texts)) in self._done

    def prefill(self, texts, role, table: np.ndarray) -> None:
        """Embeddings already at hand (a corpus from the corpus cache)."""
        self._done[(role, tuple(texts))] = table

    def encode(self, texts, batch_size=32, show_progress=None, role=None, **_) -> np.ndarray:
        return self.full(texts, role, batch_size, show_progress)

    def full(self, texts, role, batch_size, show_progress) -> np.ndarray:
        key = (role, tuple(texts))
        if key not in self._done:
            self._done[key] = self.embedder.encode(
                list(texts), batch_size=batch_size, show_progress=show_progress, role=role
            )
        return self._done[key]


class PrefixView:
    """Looks like an embedder to the evaluators; encodes through the memo and keeps the
    first ``dim`` dimensions, re-normalised."""

    def __init__(self, memo: Memo, dim: int):
        self.memo, self.dim = memo, dim
        self.config = memo.embedder.config
        self.compute_dtype = memo.embedder.compute_dtype

    def encode(self, texts, batch_size=32, show_progress=None, role=None, **_) -> np.ndarray:
        x = self.memo.full(texts, role, batch_size, show_progress)[:, : self.dim]
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def headline(scores: dict) -> dict:
    """The few numbers a dimension curve shows: each task's main score and the averages."""
    out = {
        k: (r["spearman"] if "spearman" in r else r["ndcg_at_10"])
        for k, r in scores["tasks"].items()
    }
    for key in ("average", "retrieval_average"):
        if key in scores:
            out[key] = scores[key]
    return out


def plot_dims(by_dim: dict[int, dict], path, title: str) -> None:
    """Score against dimension, one line per task (and the averages)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dims = sorted(by_dim)
    fig, ax = plt.subplots(figsize=(6, 3.8), dpi=120)
    for key in by_dim[dims[0]]:
        ax.plot(dims, [by_dim[d][key] for d in dims], marker="o", label=key)
    ax.set_xscale("log", base=2)
    ax.set_xticks(dims, [str(d) for d in dims])
    ax.set_xlabel("dimensions (prefix, re-normalised)")
    ax.set_ylabel("Spearman / nDCG@10 x100")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
