"""Evaluate a saved model in a fresh child process.

Scoring a model in the process that has just trained it runs slower than a fresh
``embedtune evaluate`` of the same checkpoint (58-78 against 99-105 texts/s for gemma3-270m
after 360 CPU steps; benchmarks/after_training_eval.py measures both): the training process
leaves its allocator and thread pools in a state that slows inference. A spawned child
starts clean, loads the saved folder exactly as ``embedtune evaluate`` does, and returns
the same result dict.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def _evaluate(folder: str, tasks: list, batch_size: int, load: dict, compute_dtype: str) -> dict:
    from embedtune.allocator import keep_freed_memory
    from embedtune.evaluation.run import score_tasks
    from embedtune.models import Embedder

    keep_freed_memory()  # the parent's setting does not cross a spawn

    embedder = Embedder.load(folder, **load)
    embedder.compute_dtype = compute_dtype
    return score_tasks(embedder, tasks, batch_size=batch_size)


def evaluate_in_child(
    folder: str | Path,
    tasks: list,
    batch_size: int = 32,
    compute_dtype: str = "bf16",
    **load,
) -> dict:
    """``score_tasks`` (STS and retrieval tasks) of the model saved in ``folder``, computed
    in a spawned process.
    ``load`` goes to ``Embedder.load`` (dtype of the weights, device, attn_implementation)."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return pool.submit(_evaluate, str(folder), tasks, batch_size, load, compute_dtype).result()
