"""Write the table of every `embedtune train` key into docs/training.md, from the TrainConfig
dataclass itself (names, defaults, help), so the documentation cannot drift from the code.

    python scripts/config_table.py          # rewrite the table between the markers
    python scripts/config_table.py --check  # exit 1 when the page is out of date (CI's test)
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import MISSING, fields
from pathlib import Path

from embedtune.config import TrainConfig

DOC = Path(__file__).resolve().parents[1] / "docs" / "training.md"
BEGIN, END = "<!-- config-table: begin -->", "<!-- config-table: end -->"


def table() -> str:
    rows = ["| key (flag) | default | meaning |", "|---|---|---|"]
    for f in fields(TrainConfig):
        default = f.default if f.default is not MISSING else f.default_factory()
        shown = "none" if default is None else f"`{default}`"
        flag = "--" + f.name.replace("_", "-")
        rows.append(f"| `{f.name}` (`{flag}`) | {shown} | {f.metadata.get('help', '')} |")
    return "\n".join(rows)


def render(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--check", action="store_true")
    args = p.parse_args()
    text = DOC.read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"{DOC}: no {BEGIN} ... {END} markers")
    new = render(text)
    if args.check:
        sys.exit(0 if new == text else f"{DOC} is out of date: run python scripts/config_table.py")
    DOC.write_text(new)


if __name__ == "__main__":
    main()
