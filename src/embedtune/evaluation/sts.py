"""STS evaluation: cosine similarity of each pair against gold scores, Spearman and
Pearson x 100 per task, as MTEB and the study report them.

Every distinct sentence across all tasks is embedded once (SICK-R and STS-B repeat many),
then each task is scored from that table.

>>> scores = score_pairs(np.eye(2)[[0, 0, 1]], np.eye(2)[[0, 1, 1]], np.array([5., 0., 4.]))
>>> round(scores["spearman"], 1)
86.6
"""

from __future__ import annotations

import time

import numpy as np
from scipy.stats import pearsonr, spearmanr

from embedtune import parallel
from embedtune.data.sts import STSData


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two (N, D) arrays -> (N,)."""
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return (a * b).sum(axis=1)


def score_pairs(e1: np.ndarray, e2: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    sims = cosine(e1.astype(np.float64), e2.astype(np.float64))
    return {
        "spearman": float(spearmanr(sims, gold).statistic) * 100,
        "pearson": float(pearsonr(sims, gold).statistic) * 100,
        "n": len(gold),
    }


def _encode_sharded(embedder, sentences: list[str], batch_size: int, show_progress) -> np.ndarray:
    """Every process embeds every P-th sentence and the rows are gathered; alone, just encode."""
    if parallel.world_size() == 1:
        return embedder.encode(sentences, batch_size=batch_size, show_progress=show_progress)
    mine = sentences[parallel.rank() :: parallel.world_size()]
    local = embedder.encode(
        mine, batch_size=batch_size, show_progress=show_progress, convert_to_numpy=False
    )
    return parallel.gather_rows(local, len(sentences)).numpy()


def distinct_sentences(tasks: list[STSData]) -> dict[str, int]:
    """Each sentence of ``tasks`` once, in task order, mapped to its row: the tasks share
    many sentences, and each is embedded only once."""
    unique: dict[str, int] = {}
    for task in tasks:
        for s in task.sentences1 + task.sentences2:
            unique.setdefault(s, len(unique))
    return unique


def evaluate_sts(
    embedder, tasks: list[STSData], batch_size: int = 32, show_progress: bool | None = None
) -> dict:
    """Score ``embedder`` on ``tasks``.

    Returns ``{"tasks": {key: {"spearman", "pearson", "n"}}, "average", "std", "seconds"}``
    where average and (population) std are over the tasks' Spearman scores, the study's
    Table 2 convention. The primary metric is ``average``.
    """
    start = time.perf_counter()
    unique = distinct_sentences(tasks)
    sentences = list(unique)
    table = _encode_sharded(embedder, sentences, batch_size, show_progress)
    results: dict[str, dict] = {}
    for task in tasks:
        i1 = [unique[s] for s in task.sentences1]
        i2 = [unique[s] for s in task.sentences2]
        results[task.key] = score_pairs(table[i1], table[i2], task.scores)
    spearmans = np.array([r["spearman"] for r in results.values()])
    return {
        "tasks": results,
        "average": float(spearmans.mean()),
        "std": float(spearmans.std()),  # population std, as the study's Table 2
        "sentences": len(sentences),
        "seconds": round(time.perf_counter() - start, 2),
    }
