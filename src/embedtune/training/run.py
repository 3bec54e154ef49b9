"""From a config to a finished run: find the data, the dev set and the report tasks."""

from __future__ import annotations

from pathlib import Path

from embedtune.config import TrainConfig
from embedtune.data import tasks as task_registry
from embedtune.data.beir import RetrievalData
from embedtune.data.beir_training import parse_split_spec, read_split_for_training
from embedtune.data.sts import data_root, load_task
from embedtune.data.triplets import Triplets, read_triplets
from embedtune.errors import DataError
from embedtune.log import log
from embedtune.paths import looks_like_path
from embedtune.training.trainer import Trainer


def resolve_data_path(data: str, data_dir: str | None) -> str:
    """``data`` as given if it exists, else relative to the data root, else as a Hub id."""
    if Path(data).expanduser().exists():
        return data
    root = data_root(data_dir)
    if root is not None and (root / data).exists():
        return str(root / data)
    if looks_like_path(data, [root] if root is not None else [], any_suffix=True):
        where = f" (also looked under {root})" if root else ""
        raise DataError(f"{data}: no such file{where}")
    return data


def read_training_data(cfg: TrainConfig) -> tuple[Triplets, RetrievalData | None]:
    """The training triplets, and the held-out dev split when they come from a BEIR split
    (``data`` as FOLDER:SPLIT), else None."""
    root = data_root(cfg.data_dir)
    split = parse_split_spec(cfg.data, root)
    if split is not None:
        return read_split_for_training(*split, cfg.dev_queries, cfg.dev_corpus)
    triplets = read_triplets(
        resolve_data_path(cfg.data, cfg.data_dir),
        tuple(cfg.columns) if cfg.columns else None,
        cfg.skip_bad_rows,
        header=cfg.header,
    )
    return triplets, None


def read_dev(cfg: TrainConfig, beir_dev: RetrievalData | None):
    """The dev set scored during training (None: no evaluation along the way)."""
    root = data_root(cfg.data_dir)
    if not cfg.eval_every:
        return None
    if cfg.dev_task in (None, "") and beir_dev is not None:
        return beir_dev
    if cfg.dev_task not in (None, "", "stsb-dev"):
        split = parse_split_spec(cfg.dev_task, root)
        if split is None:
            raise DataError(f"dev_task {cfg.dev_task!r}: not stsb-dev nor a BEIR FOLDER:SPLIT")
        return read_split_for_training(*split, cfg.dev_queries, cfg.dev_corpus)[1]
    if root is None:
        log.info("no data directory: STS-B dev evaluation during training is off")
        return None
    return load_task("stsb-dev", root)


def run_training(cfg: TrainConfig) -> dict:
    triplets, beir_dev = read_training_data(cfg)
    if triplets.headerless:
        log.info(
            f"{triplets.source}: no header line; reading its columns as anchor, "
            f"positive{', negative' if triplets.has_negatives else ''} (--header to read it as names)"
        )
    if triplets.skipped:
        log.info(f"skipped {len(triplets.skipped)} bad rows, e.g. {triplets.skipped[0]}")
    root = data_root(cfg.data_dir)
    dev = read_dev(cfg, beir_dev)
    keys = task_registry.resolve(cfg.eval_tasks) if cfg.eval_tasks else []
    if root is None:  # named tasks need the data directory; BEIR folders given as paths do not
        keys = [k for k in keys if task_registry.is_path_spec(k)]
    final = [task_registry.load(k, root) for k in keys]
    return Trainer(
        cfg, triplets, dev, final, data_label="local" if root is not None else "hub"
    ).train()
