"""``embedtune evaluate``: STS and retrieval scores of a model, as tables and JSON."""

from __future__ import annotations

import argparse

from embedtune.cli.common import (
    add_data_dir,
    add_model_options,
    add_precision,
    embedder_overrides,
)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate", help="score a model on STS and retrieval benchmarks", description=__doc__
    )
    add_model_options(p)
    add_data_dir(p)
    p.add_argument(
        "--tasks",
        default="all",
        help="comma-separated: all (nine STS tasks) | senteval | retrieval (scifact, arguana) | "
        "task keys (sts12,...,stsb,biosses,sickr,scifact,arguana) | a BEIR folder [PATH:SPLIT]",
    )
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument(
        "--corpus-cache",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep retrieval corpus embeddings in $EMBEDTUNE_CACHE/corpus and reuse them "
        "(keyed by corpus, settings and weights; default on)",
    )
    p.add_argument(
        "--dims",
        help="also score these embedding sizes (prefixes, re-normalised; one encoding), "
        "e.g. 640,160,64; with --output, a plot goes beside it (.dims.png)",
    )
    add_precision(
        p,
        "retrieval: search the documents stored as int8 (1/4 the memory) or packed binary "
        "(1/32) vectors",
    )
    p.add_argument(
        "--rescore",
        type=int,
        default=0,
        help="with --precision ubinary: rescore the top N x 100 binary candidates with float "
        "queries x int8 documents (e.g. 4; 0: off)",
    )
    p.add_argument("--output", help="write results here: .json, or .md for the Markdown table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from embedtune.evaluation.run import evaluate_model

    evaluate_model(
        args.model,
        args.tasks,
        args.data_dir,
        args.batch_size,
        args.output,
        args.corpus_cache,
        _int_list(args.dims),
        args.precision,
        args.rescore,
        **embedder_overrides(args),
    )
    return 0


def _int_list(text: str | None) -> list[int] | None:
    from embedtune.errors import ConfigError

    if not text:
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--dims must be comma-separated integers, got {text!r}") from None
