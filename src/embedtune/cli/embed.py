"""``embedtune embed``: embed a column of a text/JSONL/CSV/TSV/Parquet file, in input order."""

from __future__ import annotations

import argparse

from embedtune.cli.common import add_model_options, add_precision, embedder_overrides


def add_parser(sub) -> None:
    p = sub.add_parser("embed", help="embed a file of texts", description=__doc__)
    add_model_options(p)
    p.add_argument(
        "--input", required=True, help=".txt (one text per line), .jsonl, .csv, .tsv or .parquet"
    )
    p.add_argument("--column", default="text", help="the text column (default: text)")
    p.add_argument(
        "--id-column",
        default="id",
        help="the id column, if present (default: id; else the line number)",
    )
    p.add_argument(
        "--output", required=True, help="FILE.npy (ids go to FILE.ids.txt) or FILE.parquet"
    )
    p.add_argument(
        "--role",
        choices=["query", "document"],
        help="embed as queries or documents (the model's query / document prompt)",
    )
    add_precision(
        p,
        "int8 (1/4 the size; ranges per dimension from these texts, written beside the "
        "output) or ubinary (packed sign bits, 1/32); .npy output",
    )
    p.add_argument(
        "--calibration",
        help="int8: the ranges file of an earlier int8 embedding (FILE.int8-ranges.npy), "
        "so queries share the corpus's scale",
    )
    p.add_argument("--batch-size", type=int, default=32)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from embedtune.data.texts import read_texts
    from embedtune.export.embed_file import check_output, embed_texts
    from embedtune.models import Embedder

    check_output(args.output, args.precision)  # bad input fails before the model loads
    ids, texts = read_texts(args.input, args.column, args.id_column)
    embedder = Embedder.load(args.model, **embedder_overrides(args))
    n = embed_texts(
        embedder,
        ids,
        texts,
        args.output,
        args.batch_size,
        args.role,
        args.precision,
        args.calibration,
    )
    print(f"embedded {n} texts -> {args.output}")
    return 0
