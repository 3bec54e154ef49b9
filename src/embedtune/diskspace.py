"""Fail before writing, not halfway: check free disk space for a write of known size."""

from __future__ import annotations

import shutil
from pathlib import Path

from embedtune.errors import EmbedtuneError

MARGIN = 1.2  # filesystem overhead and small side files


def ensure_free_space(folder: str | Path, needed_bytes: int, what: str) -> None:
    """Raise when the filesystem holding ``folder`` has less than ``needed_bytes`` free."""
    folder = Path(folder)
    probe = folder
    while not probe.exists():  # the folder may not exist yet: ask its nearest parent
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    needed = int(needed_bytes * MARGIN)
    if free < needed:
        raise EmbedtuneError(
            f"not enough disk space for {what} in {folder}: needs about "
            f"{needed / 2**20:.0f} MiB, {free / 2**20:.0f} MiB free"
        )
