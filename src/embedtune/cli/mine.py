"""``embedtune mine``: hard negatives for a BEIR split's queries, from any model, written as
triplets (JSONL: query, positive, negative, with ids and scores) that ``train`` reads.

The split's dev hold-out (``--dev-queries``, the same default and draw as ``train``) is left
out, so training on the mined file never sees the queries that select its checkpoints.
"""

from __future__ import annotations

import argparse

from embedtune.cli.common import add_data_dir, add_model_options, embedder_overrides


def add_parser(sub) -> None:
    p = sub.add_parser("mine", help="mine hard negatives from a corpus", description=__doc__)
    add_model_options(p)
    add_data_dir(p)
    p.add_argument(
        "--data", required=True, help="a BEIR split as FOLDER:SPLIT, e.g. retrieval/scifact:train"
    )
    p.add_argument("--output", required=True, help="the triplets file to write (.jsonl)")
    p.add_argument("--negatives", type=int, default=4, help="negatives per (query, positive)")
    p.add_argument(
        "--skip-top", type=int, default=0, help="skip this many top non-positive candidates"
    )
    p.add_argument(
        "--margin",
        type=float,
        default=0.95,
        help="drop candidates scoring above MARGIN x the positive's score (1 or more: off)",
    )
    p.add_argument("--candidates", type=int, default=50, help="how deep to look per query")
    p.add_argument("--dev-queries", type=int, default=100, help="as `train --dev-queries`")
    p.add_argument("--dev-corpus", type=int, default=2000, help="as `train --dev-corpus`")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--corpus-cache", action=argparse.BooleanOptionalAction, default=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from embedtune.data.beir import read_beir
    from embedtune.data.beir_training import hold_out, parse_split_spec
    from embedtune.data.sts import data_root
    from embedtune.errors import ConfigError, DataError
    from embedtune.mining import mine
    from embedtune.models import Embedder

    if not args.output.endswith(".jsonl"):
        raise ConfigError(f"--output {args.output}: mined triplets are written as .jsonl")
    if args.negatives < 1 or args.candidates < args.negatives or args.skip_top < 0:
        raise ConfigError("need --negatives >= 1, --candidates >= --negatives, --skip-top >= 0")
    split = parse_split_spec(args.data, data_root(args.data_dir))
    if split is None:
        raise DataError(f"--data {args.data}: not a BEIR folder and split (FOLDER:SPLIT)")
    folder, name = split
    task = read_beir(folder, name)
    if args.dev_queries > 0:
        task, _ = hold_out(task, args.dev_queries, args.dev_corpus)
    embedder = Embedder.load(args.model, **embedder_overrides(args))
    s = mine(
        embedder,
        task,
        args.output,
        args.negatives,
        args.skip_top,
        args.margin,
        args.candidates,
        args.batch_size,
        args.corpus_cache,
    )
    print(f"wrote {s.triplets} triplets to {args.output} (summary: {args.output}.summary.json)")
    return 0
