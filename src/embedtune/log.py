"""Progress messages go through the ``embedtune`` logger, not print(): a program that uses
embedtune as a library decides what it sees (nothing below WARNING unless it asks), while
the ``embedtune`` command shows them on stdout as ``[embedtune] ...`` lines."""

from __future__ import annotations

import logging
import sys

log = logging.getLogger("embedtune")


class _Stdout(logging.StreamHandler):
    """A handler that writes to whatever ``sys.stdout`` is at the time (a test's capture,
    a redirected stream), not the one it was created with."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value) -> None:
        pass


def show_progress_on_stdout() -> None:
    """What the CLI calls once: info messages as ``[embedtune] message`` lines."""
    if not any(isinstance(h, _Stdout) for h in log.handlers):
        handler = _Stdout()
        handler.setFormatter(logging.Formatter("[embedtune] %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
