"""From a config to a finished run: find the data, the dev set and the report tasks."""

from __future__ import annotations

from pathlib import Path

from embedtune.config import TrainConfig
from embedtune.data.sts import data_root, load_task, resolve_tasks
from embedtune.data.triplets import read_triplets
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


def run_training(cfg: TrainConfig) -> dict:
    triplets = read_triplets(
        resolve_data_path(cfg.data, cfg.data_dir),
        tuple(cfg.columns) if cfg.columns else None,
        cfg.skip_bad_rows,
        header=cfg.header,
    )
    if triplets.headerless:
        log.info(
            f"{triplets.source}: no header line; reading its columns as anchor, "
            f"positive{', negative' if triplets.has_negatives else ''} (--header to read it as names)"
        )
    if triplets.skipped:
        log.info(f"skipped {len(triplets.skipped)} bad rows, e.g. {triplets.skipped[0]}")
    root = data_root(cfg.data_dir)
    dev = load_task("stsb-dev", root) if cfg.eval_every and root is not None else None
    if cfg.eval_every and dev is None:
        log.info("no data directory: STS-B dev evaluation during training is off")
    final = (
        [load_task(k, root) for k in resolve_tasks(cfg.eval_tasks)]
        if cfg.eval_tasks and root is not None
        else []
    )
    return Trainer(
        cfg, triplets, dev, final, data_label="local" if root is not None else "hub"
    ).train()
