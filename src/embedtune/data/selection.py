"""Turning a ``--tasks`` value into task keys: comma-separated names, suites expanded, each
key once in order, and an error that lists what is known. Shared by the STS-only selection
of training (``data/sts.py``) and the full one of evaluation (``data/tasks.py``)."""

from __future__ import annotations

from collections.abc import Callable

from embedtune.errors import DataError


def select(
    spec: str | list[str], suites: dict[str, list[str]], known: Callable[[str], bool], hint: str
) -> list[str]:
    """The keys ``spec`` names; ``hint`` ends the error for a key ``known`` rejects."""
    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    keys: list[str] = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        for key in suites.get(part, [part]):
            if not known(key):
                raise DataError(f"unknown task {key!r}; {hint}")
            if key not in keys:
                keys.append(key)
    if not keys:
        raise DataError(f"no tasks selected by {spec!r}")
    return keys
