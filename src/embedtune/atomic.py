"""Writes that are either complete or invisible, and that fail before they start.

Every folder or file embedtune writes for later use (checkpoints, saved models, exports,
embedding files, converted models) is written under a temporary name beside its target and
renamed into place only when complete, so a crash or a full disk never leaves a half-written
one to be loaded later. When the size is known, free space is checked first.

>>> with atomic_dir(Path("out/model"), needed_bytes=1 << 20) as tmp:   # doctest: +SKIP
...     save_everything_into(tmp)          # out/model appears only if this returns
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def atomic_dir(
    target: Path, needed_bytes: int | None = None, what: str = "", replace: bool = True
) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; when the block ends without an error it
    becomes ``target`` (an existing one is replaced, or, with ``replace=False``, kept and the
    new one dropped: another process finished first); on an error it is deleted."""
    target = Path(target)
    if needed_bytes is not None:
        ensure_free_space(target.parent, needed_bytes, what or str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        yield tmp
        if target.exists() and not replace:
            shutil.rmtree(tmp)
            return
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def atomic_file(target: Path, needed_bytes: int | None = None, what: str = "") -> Iterator[Path]:
    """The same for one file: yield a temporary path beside ``target`` (same suffix, for
    writers that look at it), renamed onto ``target`` when the block succeeds."""
    target = Path(target)
    if needed_bytes is not None:
        ensure_free_space(target.parent, needed_bytes, what or str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}-", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
