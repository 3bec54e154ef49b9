"""Every evaluation task by name: the STS tasks (``data/sts.py``), the retrieval tasks
(``data/beir.py``), their suites, and any BEIR folder given as a path.

``--tasks`` takes a comma-separated mix: ``all`` (the nine STS tasks), ``senteval``,
``retrieval`` (SciFact and ArguAna), single keys (``stsb``, ``scifact``), and paths to BEIR
folders, optionally with a split (``./my-corpus`` scores ``test``; ``./my-corpus:dev``).

>>> resolve("stsb,retrieval")
['stsb', 'scifact', 'arguana']
"""

from __future__ import annotations

from pathlib import Path

from embedtune.data.beir import RETRIEVAL_TASKS, RetrievalData, read_beir
from embedtune.data.selection import select
from embedtune.data.sts import SUITES, TASKS, STSData, data_root, load_task
from embedtune.errors import DataError
from embedtune.paths import looks_like_path

ALL_SUITES = {**SUITES, "retrieval": list(RETRIEVAL_TASKS)}


def _beir_folder(part: str) -> tuple[Path, str] | None:
    """(folder, split) when ``part`` names a BEIR folder on disk (``path`` or ``path:split``)."""
    path, _, split = part.rpartition(":") if ":" in Path(part).name else (part, "", "")
    if not (looks_like_path(path) or Path(path).is_dir()):
        return None
    if not Path(path, "corpus.jsonl").is_file():
        raise DataError(f"{path}: not a BEIR folder (no corpus.jsonl)")
    return Path(path), split or "test"


def resolve(spec: str | list[str]) -> list[str]:
    """The task keys (and BEIR folder specs) ``spec`` selects, each once, in order."""
    names = [*TASKS, *RETRIEVAL_TASKS]
    return select(
        spec,
        ALL_SUITES,
        lambda key: key in TASKS or key in RETRIEVAL_TASKS or _beir_folder(key) is not None,
        f"known tasks: {', '.join(names)}; suites: {', '.join(ALL_SUITES)}; "
        "or the path of a BEIR folder",
    )


def is_path_spec(key: str) -> bool:
    """A resolved key that names a BEIR folder by path (it needs no data directory)."""
    return key not in TASKS and key not in RETRIEVAL_TASKS


def load(key: str, data_dir: str | Path | None = None) -> STSData | RetrievalData:
    """One resolved task, read and checked."""
    if key in TASKS:
        return load_task(key, data_dir)
    if key in RETRIEVAL_TASKS:
        task = RETRIEVAL_TASKS[key]
        root = data_root(data_dir)
        if root is None:
            raise DataError(
                f"task {key!r} needs a data directory with {task.folder}/ in BEIR's layout "
                "(--data-dir or $EMBEDTUNE_DATA_DIR); retrieval data is not fetched from the Hub"
            )
        return read_beir(root / task.folder, task.split, key=key, name=task.name)
    folder, split = _beir_folder(key)
    return read_beir(folder, split, key=key, name=f"{folder.name} ({split})")
