"""Evaluate a model by name: load, score, print, write (what ``embedtune evaluate`` does)."""

from __future__ import annotations

import json
from pathlib import Path

from embedtune.data import tasks as task_registry
from embedtune.data.beir import RetrievalData
from embedtune.data.sts import STSData
from embedtune.errors import ConfigError
from embedtune.evaluation.corpus_cache import embed_corpus
from embedtune.evaluation.dims import Memo, PrefixView, check_eval_dims, headline, plot_dims
from embedtune.evaluation.report import dims_table, results_table
from embedtune.evaluation.retrieval import evaluate_retrieval_task
from embedtune.evaluation.sts import evaluate_sts
from embedtune.log import log
from embedtune.models import Embedder


def load_tasks(tasks: str | list[str], data_dir=None) -> list[STSData | RetrievalData]:
    """STS and retrieval tasks, every file read and checked (before any model loads)."""
    return [task_registry.load(k, data_dir) for k in task_registry.resolve(tasks)]


def result_json(embedder: Embedder, model_ref: str, scores: dict) -> dict:
    """The evaluation JSON layout (`evaluate --output`, a run's before/after.json): what was
    scored, how it embedded, then ``evaluate_sts``'s scores. The one place it is built."""
    return {
        "model": model_ref,
        "pooling": embedder.config.pooling,
        "prompt": embedder.config.prompt,
        **{
            key: getattr(embedder.config, key)
            for key in ("query_prompt", "document_prompt")
            if getattr(embedder.config, key) is not None
        },
        "dtype": embedder.compute_dtype,
        "max_length": embedder.config.max_length,
        **scores,
    }


def score_tasks(
    embedder,
    data: list[STSData | RetrievalData],
    batch_size: int = 32,
    corpus_cache: bool = True,
    show_progress: bool | None = None,
    precision: str = "float32",
    rescore: int = 0,
) -> dict:
    """Scores of a loaded embedder on STS and retrieval tasks: every task under
    ``tasks.<key>``; STS tasks also give ``average``/``std`` (of Spearman), retrieval tasks
    ``retrieval_average`` (of nDCG@10). ``precision`` / ``rescore`` apply to retrieval (the
    stored document vectors)."""
    sts = [t for t in data if isinstance(t, STSData)]
    retrieval = [t for t in data if isinstance(t, RetrievalData)]
    scores = (
        evaluate_sts(embedder, sts, batch_size=batch_size, show_progress=show_progress)
        if sts
        else {"tasks": {}}
    )
    for task in retrieval:
        log.info(f"{task.name}: {len(task.docs)} documents, {len(task.queries)} queries")
        scores["tasks"][task.key] = evaluate_retrieval_task(
            embedder,
            task,
            batch_size,
            show_progress,
            corpus_cache=corpus_cache,
            precision=precision,
            rescore=rescore,
        )
    if retrieval:
        ndcg = [scores["tasks"][t.key]["ndcg_at_10"] for t in retrieval]
        scores["retrieval_average"] = sum(ndcg) / len(ndcg)
        seconds = sum(scores["tasks"][t.key]["seconds"] for t in retrieval)
        scores["seconds"] = round(scores.get("seconds", 0) + seconds, 2)
    return scores


def evaluate_embedder(
    embedder: Embedder,
    model_ref: str,
    data: list[STSData | RetrievalData],
    batch_size: int = 32,
    corpus_cache: bool = True,
    precision: str = "float32",
    rescore: int = 0,
) -> dict:
    """Score a loaded embedder; returns the evaluate JSON layout."""
    scores = score_tasks(
        embedder, data, batch_size, corpus_cache, precision=precision, rescore=rescore
    )
    return result_json(embedder, model_ref, scores)


def write_result(result: dict, output: str | Path) -> None:
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix == ".md":
        output.write_text(f"{result['model']} ({result['pooling']})\n\n{results_table(result)}\n")
    else:
        output.write_text(json.dumps(result, indent=2) + "\n")


def scores_by_dim(
    embedder,
    data,
    dims: list[int],
    batch_size: int = 32,
    corpus_cache: bool = True,
    precision: str = "float32",
    rescore: int = 0,
) -> dict[int, dict]:
    """Each size's headline scores (``dims.headline``) from one full-size encoding. Pass a
    ``Memo`` that a full-size evaluation went through and nothing is embedded again (a
    corpus it read from the corpus cache is read once more; the memo did not see it).
    ``precision`` / ``rescore`` store each prefix's documents as the full size's are, so a
    row of the table is what that many dimensions at that precision would retrieve."""
    memo = embedder if isinstance(embedder, Memo) else Memo(embedder)
    for task in data:
        if isinstance(task, RetrievalData) and not memo.has(task.docs, "document"):
            table, _ = embed_corpus(
                memo.embedder, task.docs, task.corpus_sha256, batch_size, cache=corpus_cache
            )
            memo.prefill(task.docs, "document", table)
    return {
        d: headline(
            score_tasks(
                PrefixView(memo, d),
                data,
                batch_size,
                corpus_cache=False,
                precision=precision,
                rescore=rescore,
            )
        )
        for d in check_eval_dims(dims, memo.dim)
    }


def evaluate_model(
    model: str,
    tasks: str,
    data_dir=None,
    batch_size: int = 32,
    output=None,
    corpus_cache: bool = True,
    dims: list[int] | None = None,
    precision: str = "float32",
    rescore: int = 0,
    **overrides,
) -> dict:
    """``embedtune evaluate``: load, score, print, write. ``dims``: also score these
    prefix sizes (one encoding; a table and, with ``output``, a plot beside it)."""
    if rescore < 0 or (rescore and precision != "ubinary"):
        raise ConfigError("--rescore N (N >= 1) goes with --precision ubinary")
    data = load_tasks(tasks, data_dir)  # a bad file fails before the model loads
    embedder = Embedder.load(model, **overrides)
    if dims:
        check_eval_dims(dims, embedder.dim)  # before any encoding
        embedder = Memo(embedder)  # the full-size encodings serve the smaller sizes too
    result = evaluate_embedder(embedder, model, data, batch_size, corpus_cache, precision, rescore)
    texts = f"{result['sentences']} sentences, " if "sentences" in result else ""
    print(
        f"{model} | pooling {result['pooling']} | {result['dtype']} | {texts}{result['seconds']:.0f}s"
    )
    print(results_table(result))
    if dims:
        by_dim = scores_by_dim(embedder, data, dims, batch_size, corpus_cache, precision, rescore)
        result["dims"] = {str(d): row for d, row in by_dim.items()}
        print("\n" + dims_table(result["dims"]))
        if output:
            stored = "" if precision == "float32" else f", documents {precision}"
            stored += f" + rescore {rescore}" if rescore else ""
            plot_dims(by_dim, Path(output).with_suffix(".dims.png"), model + stored)
    if output:
        write_result(result, output)
        print(f"wrote {output}")
    return result
