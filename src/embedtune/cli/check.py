"""``embedtune check``: built-in correctness checks (EOS, padding, batch size, merge, export, bf16).

Exits 0 when every check passes, 1 when one fails."""

from __future__ import annotations

import argparse

from embedtune.cli.common import add_trust_remote_code
from embedtune.models.pooling import POOLING_MODES


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="run correctness checks on a model", description=__doc__)
    p.add_argument("--model", required=True, help="named model, folder, run folder or Hub id")
    p.add_argument("--pooling", choices=POOLING_MODES)
    p.add_argument(
        "--no-append-eos",
        action="store_true",
        help="turn EOS appending off (to see the check fail)",
    )
    add_trust_remote_code(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from embedtune.export.checks import run_checks

    overrides = {}
    if args.pooling:
        overrides["pooling"] = args.pooling
    if args.no_append_eos:
        overrides["append_eos"] = False
    if args.trust_remote_code:
        overrides["trust_remote_code"] = True
    results = run_checks(args.model, **overrides)
    for r in results:
        print(f"{'PASS' if r.passed else 'FAIL'}  {r.name:<10} {r.reason}")
    failed = [r.name for r in results if not r.passed]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0
