"""A run's position and history, and the checks made before a run may start.

Everything that can be checked without the model is checked before it loads, and before the
(minutes-long) evaluation of the untrained model writes anything: a run that cannot go on
fails in seconds and leaves nothing behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from embedtune import parallel
from embedtune.config import TrainConfig
from embedtune.data.triplets import Triplets
from embedtune.errors import TrainingError
from embedtune.training import checkpoint as ckpt
from embedtune.training.fingerprint import check_same_run, fingerprint


@dataclass
class TrainState:
    """Everything besides weights/optimizer/RNG that a resume needs."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    train_seconds: float = 0.0
    # wall-clock seconds up to the last checkpoint, summed over resumes, so a run stopped and
    # resumed reports the time it took rather than the time since the last start
    wall_seconds: float = 0.0
    resumes: int = 0
    eval_history: list[dict] = field(default_factory=list)
    best: dict | None = None
    skipped_steps: int = 0
    bad_in_row: int = 0  # consecutive non-finite steps, so a resume keeps counting them

    def next_step_passes(self, max_minutes: float | None) -> bool:
        """Whether one more step, at the run's mean step time so far, would end past the time
        limit. Checking the time spent alone let a run overshoot by up to a step (a 25-second
        step of a long-text recipe took a 12.8-minute stage to 13.1 minutes), so a budget
        meant as "within 30 minutes" was not."""
        if max_minutes is None:
            return False
        mean_step = self.train_seconds / self.step if self.step else 0.0
        return self.train_seconds + mean_step > max_minutes * 60


def preflight(cfg: TrainConfig, triplets: Triplets, out: Path) -> tuple[list[Path], dict]:
    """Refuse a run that cannot start; returns the complete checkpoints to resume from (empty
    for a fresh run) and the run's fingerprint."""
    world = parallel.world_size()
    if cfg.batch_size % (world * cfg.grad_accum):
        raise TrainingError(
            f"`batch_size` {cfg.batch_size} must split evenly over {world} processes x "
            f"{cfg.grad_accum} accumulation steps"
        )
    if len(triplets) < cfg.batch_size:
        raise TrainingError(
            f"{triplets.source}: {len(triplets)} triplets are fewer than one batch "
            f"of {cfg.batch_size}; lower --batch-size"
        )
    checkpoints = ckpt.list_checkpoints(out / "checkpoints")
    if checkpoints and not cfg.resume:
        raise TrainingError(
            f"{out} already holds checkpoints; pass --resume to continue or choose another --output-dir"
        )
    run = fingerprint(cfg.to_dict(), triplets.sha256)
    if cfg.resume and checkpoints:
        saved = json.loads((checkpoints[-1] / "state.json").read_text())
        check_same_run(saved.get("fingerprint"), run, str(checkpoints[-1]))
    if out.exists() and not out.is_dir():
        raise TrainingError(f"--output-dir {out} is a file, not a folder")
    return (checkpoints if cfg.resume else []), run
