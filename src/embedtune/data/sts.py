"""The STS evaluation tasks: which files make each task, and a strict reader for them.

Task keys are stable (they are the JSON keys of every report). The nine ``mteb`` tasks are
the English STS tasks of MTEB that the study reports, laid out as in ``../shared/data``
(``sts/<task>/<split>.tsv``). MTEB scores SICK-R on all 9,927 pairs (train + trial + test)
and STS17 on its en-en subset. The ``senteval`` suite follows SentEval/SimCSE: STS12-16
"all" (every subset pooled), STS-B test and SICK-R test, on SentEval's tokenised text.

>>> load_task("stsb", "/data").n   # doctest: +SKIP
1379
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embedtune.data.lines import read_rows
from embedtune.data.selection import select
from embedtune.errors import DataError

DATA_DIR_ENV = "EMBEDTUNE_DATA_DIR"


@dataclass(frozen=True)
class STSTask:
    """Where a task's pairs live and the range its gold scores must lie in."""

    key: str
    name: str  # the name MTEB / SentEval prints
    files: tuple[str, ...]  # relative to the data root, concatenated in order
    min_score: float
    max_score: float
    hub: tuple[str, str | None, str] | None = None  # (dataset id, config, split)


def _t(key, name, files, lo=0.0, hi=5.0, hub=None) -> STSTask:
    return STSTask(key, name, tuple(files), lo, hi, hub)


TASKS: dict[str, STSTask] = {
    t.key: t
    for t in [
        _t("sts12", "STS12", ["sts/sts12/test.tsv"], hub=("mteb/sts12-sts", None, "test")),
        _t("sts13", "STS13", ["sts/sts13/test.tsv"], hub=("mteb/sts13-sts", None, "test")),
        _t("sts14", "STS14", ["sts/sts14/test.tsv"], hub=("mteb/sts14-sts", None, "test")),
        _t("sts15", "STS15", ["sts/sts15/test.tsv"], hub=("mteb/sts15-sts", None, "test")),
        _t("sts16", "STS16", ["sts/sts16/test.tsv"], hub=("mteb/sts16-sts", None, "test")),
        _t(
            "sts17",
            "STS17 (en-en)",
            ["sts/sts17/test.tsv"],
            hub=("mteb/sts17-crosslingual-sts", "en-en", "test"),
        ),
        _t(
            "stsb",
            "STSBenchmark",
            ["sts/stsb/test.tsv"],
            hub=("mteb/stsbenchmark-sts", None, "test"),
        ),
        _t(
            "biosses",
            "BIOSSES",
            ["sts/biosses/test.tsv"],
            0.0,
            4.0,
            hub=("mteb/biosses-sts", None, "test"),
        ),
        _t(
            "sickr",
            "SICK-R",
            ["sts/sickr/train.tsv", "sts/sickr/dev.tsv", "sts/sickr/test.tsv"],
            1.0,
            5.0,
            hub=("mteb/sickr-sts", None, "test"),
        ),
        # SentEval / SimCSE convention
        _t("senteval-sts12", "STS12 (all)", ["sts/sts12/test.senteval_tok.tsv"]),
        _t("senteval-sts13", "STS13 (all)", ["sts/sts13/test.senteval_tok.tsv"]),
        _t("senteval-sts14", "STS14 (all)", ["sts/sts14/test.senteval_tok.tsv"]),
        _t("senteval-sts15", "STS15 (all)", ["sts/sts15/test.senteval_tok.tsv"]),
        _t("senteval-sts16", "STS16 (all)", ["sts/sts16/test.senteval_tok.tsv"]),
        _t("senteval-stsb", "STS-B test", ["sts/stsb/test.senteval_tok.tsv"]),
        _t("senteval-sickr", "SICK-R test", ["sts/sickr/test.tsv"], 1.0, 5.0),
        # for model selection during training; never reported as a benchmark
        _t(
            "stsb-dev",
            "STS-B dev",
            ["sts/stsb/dev.tsv"],
            hub=("sentence-transformers/stsb", None, "validation"),
        ),
    ]
}

SUITES: dict[str, list[str]] = {
    "all": ["sts12", "sts13", "sts14", "sts15", "sts16", "sts17", "stsb", "biosses", "sickr"],
    "senteval": [k for k in TASKS if k.startswith("senteval-")],
}


@dataclass
class STSData:
    """Sentence pairs with gold scores, ready to score."""

    key: str
    name: str
    sentences1: list[str]
    sentences2: list[str]
    scores: np.ndarray  # (n,) float64

    @property
    def n(self) -> int:
        return len(self.scores)


def resolve_tasks(spec: str | list[str]) -> list[str]:
    """Turn ``"all"``, ``"senteval"`` or ``"stsb,sts12"`` into a list of task keys.

    >>> resolve_tasks("stsb,sts12")
    ['stsb', 'sts12']
    """
    return select(
        spec,
        SUITES,
        lambda key: key in TASKS,
        f"known tasks: {', '.join(TASKS)}; suites: {', '.join(SUITES)}",
    )


def data_root(data_dir: str | Path | None) -> Path | None:
    """The data root from the option, else ``$EMBEDTUNE_DATA_DIR``, else None (use the Hub)."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or None
    if chosen is None:
        return None
    root = Path(chosen).expanduser()
    if not root.is_dir():
        source = "--data-dir" if data_dir else DATA_DIR_ENV
        raise DataError(f"{source}={chosen}: no such directory")
    return root


def read_sts_file(path: Path, task: STSTask) -> tuple[list[str], list[str], list[float]]:
    """Read one ``sentence1, sentence2, score`` TSV, rejecting bad rows with file:line."""
    s1: list[str] = []
    s2: list[str] = []
    scores: list[float] = []
    for row in read_rows(path, "\t", required=("sentence1", "sentence2", "score")):
        a, b, raw = row.fields["sentence1"], row.fields["sentence2"], row.fields["score"]
        where = f"{path}:{row.line}"
        if not a.strip() or not b.strip():
            raise DataError(f"{where}: empty sentence")
        try:
            score = float(raw)
        except ValueError:
            raise DataError(f"{where}: score {raw!r} is not a number") from None
        if not math.isfinite(score) or not task.min_score <= score <= task.max_score:
            raise DataError(
                f"{where}: score {raw!r} outside [{task.min_score:g}, {task.max_score:g}]"
            )
        s1.append(a)
        s2.append(b)
        scores.append(score)
    if not scores:
        raise DataError(f"{path}: no data rows")
    return s1, s2, scores


def load_task(key: str, data_dir: str | Path | None = None) -> STSData:
    """Load one task from the data root (option or env), else from the Hugging Face Hub."""
    task = TASKS[key]
    root = data_root(data_dir)
    if root is None:
        return _load_from_hub(task)
    s1: list[str] = []
    s2: list[str] = []
    scores: list[float] = []
    for rel in task.files:
        a, b, s = read_sts_file(root / rel, task)
        s1 += a
        s2 += b
        scores += s
    return STSData(key, task.name, s1, s2, np.asarray(scores, dtype=np.float64))


def _load_from_hub(task: STSTask) -> STSData:
    if task.hub is None:
        raise DataError(f"task {task.key!r} has no Hub copy; pass --data-dir or set {DATA_DIR_ENV}")
    try:
        import datasets  # optional: only needed without a local data directory
    except ImportError:
        raise DataError(
            f"no data directory given (--data-dir or {DATA_DIR_ENV}) and the `datasets` "
            "package for Hub downloads is not installed (pip install datasets)"
        ) from None
    dataset_id, config, split = task.hub
    try:
        ds = datasets.load_dataset(dataset_id, config, split=split)
    except Exception as e:  # network, auth, missing dataset: all mean "no Hub"
        raise DataError(
            f"could not load {dataset_id} from the Hub ({type(e).__name__}: {e}); "
            f"pass --data-dir or set {DATA_DIR_ENV}"
        ) from None
    return STSData(
        task.key,
        task.name,
        list(ds["sentence1"]),
        list(ds["sentence2"]),
        np.asarray(ds["score"], dtype=np.float64),
    )
