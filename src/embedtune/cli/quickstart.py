"""``embedtune quickstart``: zero-shot scores, a few minutes of the study's recipe, scores again."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser(
        "quickstart",
        help="fine-tune gemma3-270m for a few minutes and show the gain",
        description=__doc__,
    )
    p.add_argument(
        "--data-dir",
        help="real data root (default: $EMBEDTUNE_DATA_DIR, else the Hub, else the embedded demo set)",
    )
    p.add_argument("--minutes", type=float, default=4.0, help="training time limit (default 4)")
    p.add_argument(
        "--steps", type=int, default=120, help="planned optimizer steps (the lr schedule length)"
    )
    p.add_argument("--output-dir", default="runs/quickstart")
    p.add_argument(
        "--model", default="gemma3-270m", help="any model embedtune can load (default gemma3-270m)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from embedtune.training.quickstart import quickstart

    quickstart(args.data_dir, args.minutes, args.output_dir, args.model, args.steps)
    return 0
