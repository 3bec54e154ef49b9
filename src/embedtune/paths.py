"""Is an argument a local path or a Hugging Face Hub id? One rule for models and data.

Offline first: anything that looks like a path is treated as one and never sent to the Hub,
so a typo in ``runs/mymodel`` or ``data/pairs.tsv`` is "no such file" at once, not a minute
of Hub retries. A Hub id is ``name`` or ``org/name``.

>>> looks_like_path("./model"), looks_like_path("a/b/c"), looks_like_path("BAAI/bge-small-en-v1.5")
(True, True, False)
>>> looks_like_path("pairs.tsv", any_suffix=True), looks_like_path("pairs.tsv")
(True, False)
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

CACHE_ENV = "EMBEDTUNE_CACHE"


def cache_dir(kind: str) -> Path:
    """``$EMBEDTUNE_CACHE/<kind>`` (default ``~/.cache/embedtune/<kind>``): converted models,
    corpus embeddings."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "embedtune")) / kind


def looks_like_path(name: str, roots: Iterable[Path] = (), any_suffix: bool = False) -> bool:
    """True for ``./x``, ``/x``, ``~/x``, ``a\\b``, ``a/b/c``, an ``org/name`` whose ``org`` is a
    folder here or under one of ``roots``, and (``any_suffix``: data files) ``x.ext``."""
    if name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1:
        return True
    if any_suffix and Path(name).suffix:
        return True
    if "/" not in name:
        return False
    head = name.split("/", 1)[0]
    return any((Path(root) / head).is_dir() for root in [Path.cwd(), *roots])
