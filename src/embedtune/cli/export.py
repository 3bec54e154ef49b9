"""``embedtune export``: a trained embedder as a sentence-transformers or Hugging Face folder."""

from __future__ import annotations

import argparse

from embedtune.cli.common import add_trust_remote_code
from embedtune.dtypes import DTYPE_NAMES


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export", help="export a trained embedder for other tools", description=__doc__
    )
    p.add_argument("source", help="a run folder (its final/ is used) or an embedder folder")
    p.add_argument("--output", required=True, help="folder to write")
    p.add_argument(
        "--format",
        default="sentence-transformers",
        choices=["sentence-transformers", "hf", "adapter", "onnx"],
    )
    p.add_argument(
        "--merge",
        action="store_true",
        help="merge the LoRA adapter into the base weights (implied by full-weight formats)",
    )
    p.add_argument(
        "--dtype",
        choices=DTYPE_NAMES,
        default="fp32",
        help="weight precision of full-weight formats (bf16: half the size)",
    )
    p.add_argument(
        "--truncate-dim",
        type=int,
        help="sentence-transformers keeps this prefix of each embedding (its truncate_dim; "
        "for a size the model was Matryoshka-trained for)",
    )
    add_trust_remote_code(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from embedtune.export.export import export

    out = export(
        args.source,
        args.output,
        args.format,
        args.merge,
        args.dtype,
        args.trust_remote_code,
        args.truncate_dim,
    )
    print(f"exported {args.source} -> {out} ({args.format})")
    return 0
