"""The ``embedtune`` command: one module per subcommand, each only parses and calls."""

from __future__ import annotations

import argparse
import sys

from embedtune import parallel
from embedtune.allocator import keep_freed_memory
from embedtune.cli import (
    check,
    embed,
    evaluate,
    export,
    mine,
    quickstart,
    rotate,
    serve,
    train,
)
from embedtune.errors import EmbedtuneError
from embedtune.log import show_progress_on_stdout


def build_parser() -> argparse.ArgumentParser:
    # allow_abbrev off: `--max-step` must be an error, not a silent `--max-steps`
    parser = argparse.ArgumentParser(
        prog="embedtune",
        allow_abbrev=False,
        description="Fine-tune language models into text-embedding models and evaluate them on STS and retrieval.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (evaluate, train, mine, quickstart, embed, rotate, export, serve, check):
        module.add_parser(sub)
    for command in sub.choices.values():
        command.allow_abbrev = False
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    keep_freed_memory()  # before the first tensor: see embedtune/allocator.py
    show_progress_on_stdout()
    code = _run(args)
    parallel.end_process(code)  # a torchrun worker ends here (see its docstring)
    return code


def _run(args: argparse.Namespace) -> int:
    try:
        return args.func(args) or 0
    except EmbedtuneError as e:
        print(f"embedtune: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("embedtune: interrupted", file=sys.stderr)
        return 130
