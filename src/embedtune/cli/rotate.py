"""``embedtune rotate``: order a model's output dimensions by how much of your texts'
variance they carry (a PCA rotation saved with the model), so the vectors can be cut to
their first d dimensions (the server's ``dimensions``, ``evaluate --dims``, an export's
``--truncate-dim``) and keep the most. Cosines at full size do not change.
"""

from __future__ import annotations

import argparse

from embedtune.cli.common import add_model_options, embedder_overrides


def add_parser(sub) -> None:
    p = sub.add_parser(
        "rotate", help="order a model's dimensions by variance on your texts", description=__doc__
    )
    add_model_options(p)
    p.add_argument(
        "--input",
        required=True,
        help="texts like the ones you will embed: .txt (one per line), .jsonl, .csv, .tsv or "
        ".parquet",
    )
    p.add_argument("--column", default="text", help="the text column (default: text)")
    p.add_argument(
        "--role",
        choices=["query", "document"],
        help="embed the texts as queries or documents (the model's prompt for that role)",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=10000,
        help="fit on at most this many texts, drawn at random (default 10000)",
    )
    p.add_argument("--output", required=True, help="the model folder to write")
    p.add_argument("--batch-size", type=int, default=32)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from embedtune.data.texts import read_texts
    from embedtune.rotating import rotate_model, sample_texts

    _, texts = read_texts(args.input, args.column)
    picked = sample_texts(texts, args.limit)
    fitted_on = f"{len(picked):,} texts of {args.input}" + (f" as {args.role}" if args.role else "")
    overrides = embedder_overrides(args)
    start = time.perf_counter()
    _, share = rotate_model(
        args.model, picked, args.output, fitted_on, overrides, args.role, args.batch_size
    )
    dim = len(share)
    kept = ", ".join(
        f"{d}: {share[:d].sum():.0%}" for d in (dim // 2, dim // 4, dim // 8) if d >= 1
    )
    seconds = time.perf_counter() - start
    print(
        f"rotated {args.model} -> {args.output} in {seconds:.0f} s; "
        f"variance in the first dimensions: {kept}"
    )
    return 0
