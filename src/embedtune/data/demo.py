"""The embedded demo set: 600 NLI-style triplets and 288 scored sentence pairs, written for
embedtune and shipped inside the package, so the quickstart runs with no data and no network.

Demo scores demonstrate that training works; they are not a benchmark (see demo/README.md).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from embedtune.data.sts import STSData, STSTask, read_sts_file
from embedtune.data.triplets import Triplets, read_triplets

DEMO_TASK = STSTask("demo-sts", "demo pairs (not a benchmark)", ("sts.tsv",), 0.0, 5.0)


def demo_dir() -> Path:
    return Path(str(files("embedtune.data").joinpath("demo")))


def demo_triplets() -> Triplets:
    return read_triplets(demo_dir() / "triplets.tsv")


def demo_sts() -> STSData:
    import numpy as np

    s1, s2, scores = read_sts_file(demo_dir() / "sts.tsv", DEMO_TASK)
    return STSData(DEMO_TASK.key, DEMO_TASK.name, s1, s2, np.asarray(scores, dtype=np.float64))
