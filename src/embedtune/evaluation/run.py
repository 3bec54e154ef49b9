"""Evaluate a model by name: load, score, print, write (what ``embedtune evaluate`` does)."""

from __future__ import annotations

import json
from pathlib import Path

from embedtune.data.sts import STSData, load_task, resolve_tasks
from embedtune.evaluation.report import results_table
from embedtune.evaluation.sts import evaluate_sts
from embedtune.models import Embedder


def load_tasks(tasks: str | list[str], data_dir=None) -> list[STSData]:
    return [load_task(k, data_dir) for k in resolve_tasks(tasks)]


def result_json(embedder: Embedder, model_ref: str, scores: dict) -> dict:
    """The evaluation JSON layout (`evaluate --output`, a run's before/after.json): what was
    scored, how it embedded, then ``evaluate_sts``'s scores. The one place it is built."""
    return {
        "model": model_ref,
        "pooling": embedder.config.pooling,
        "prompt": embedder.config.prompt,
        "dtype": embedder.compute_dtype,
        "max_length": embedder.config.max_length,
        **scores,
    }


def evaluate_embedder(
    embedder: Embedder, model_ref: str, data: list[STSData], batch_size: int = 32
) -> dict:
    """Score a loaded embedder; returns the evaluate JSON layout."""
    return result_json(embedder, model_ref, evaluate_sts(embedder, data, batch_size=batch_size))


def write_result(result: dict, output: str | Path) -> None:
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix == ".md":
        output.write_text(f"{result['model']} ({result['pooling']})\n\n{results_table(result)}\n")
    else:
        output.write_text(json.dumps(result, indent=2) + "\n")


def evaluate_model(
    model: str, tasks: str, data_dir=None, batch_size: int = 32, output=None, **overrides
) -> dict:
    data = load_tasks(tasks, data_dir)  # a bad file fails before the model loads
    embedder = Embedder.load(model, **overrides)
    result = evaluate_embedder(embedder, model, data, batch_size)
    print(
        f"{model} | pooling {result['pooling']} | {result['dtype']} | {result['sentences']} sentences in {result['seconds']:.0f}s"
    )
    print(results_table(result))
    if output:
        write_result(result, output)
        print(f"wrote {output}")
    return result
