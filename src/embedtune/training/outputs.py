"""What a run writes as it goes and when it ends: metric rows (metrics.jsonl, and TensorBoard
when it is installed), then report.json / report.md, the learning curve and run.json.

Only the main process writes; the loop calls these and stays about training.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

from embedtune import parallel
from embedtune.log import log
from embedtune.training.report import plot_learning_curve, versions, write_report


def describe(device: torch.device) -> str:
    """'cuda:0 (NVIDIA H100 80GB HBM3)' or 'cpu': run.json says what the timings ran on."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def peak_gpu_gib(device: torch.device) -> float | None:
    """Most GPU memory torch held at once in this process (None on CPU): what a user sizing
    --batch-size / --mini-batch-size for their card needs to know."""
    if device.type != "cuda":
        return None
    return round(torch.cuda.max_memory_allocated(device) / 2**30, 2)


class MetricsLog:
    """metrics.jsonl (one JSON row per log or evaluation) and, when tensorboard is
    installed, the same scalars under out/tensorboard."""

    def __init__(self, out: Path):
        self.path = out / "metrics.jsonl"
        self.out = out
        self._tb = None  # made on the first row: None untried, False unavailable

    def start(self, resumed_at: int | None) -> None:
        """A fresh run starts an empty log; a resumed one keeps the rows up to its step and
        drops any row cut off by a kill."""
        if not parallel.is_main() or not self.path.is_file():
            return
        if resumed_at is None:
            self.path.unlink()
            return
        kept = []
        for line in self.path.read_text().splitlines():
            try:
                if json.loads(line)["step"] <= resumed_at:
                    kept.append(line)
            except (ValueError, KeyError):
                continue
        self.path.write_text("".join(r + "\n" for r in kept))

    def write(self, row: dict) -> None:
        if not parallel.is_main():
            return
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        writer = self._tensorboard()
        if writer:
            scalars = {
                **{k: v for k, v in row.items() if k != "step" and isinstance(v, (int, float))},
                **{f"eval/{k}": v for k, v in row.get("eval", {}).items()},
            }
            for key, value in scalars.items():
                writer.add_scalar(key, value, row["step"])
            writer.flush()

    def _tensorboard(self):
        if self._tb is None:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.out / "tensorboard"))
            except ImportError:
                self._tb = False
        return self._tb or None


def metrics_row(trainer, loss: float, lr: float, window: list) -> dict:
    """The trainer's metrics row of the window since the last one (every process's tokens),
    written to metrics.jsonl; resets the count of masked false negatives."""
    elapsed = max(time.perf_counter() - window[0], 1e-9)
    tokens = int(parallel.all_reduce_sum(window[2]))
    row = {
        "step": trainer.state.step,
        "loss": round(loss, 6),
        "lr": lr,
        "triplets_per_s": round(window[1] / elapsed, 2),
        "tokens": tokens,
        "masked": int(parallel.all_reduce_sum(trainer.masked)),  # false negatives left out
        "tokens_per_s": round(tokens / elapsed, 1),
        "train_seconds": round(trainer.state.train_seconds, 1),
    }
    trainer.metrics.write(row)
    trainer.masked = 0
    return row


def say_time_limit(max_minutes: float, steps: int, planned: int) -> None:
    log.info(
        f"stopped by the time limit (max_minutes {max_minutes:g}) after {steps} of "
        f"{planned} planned steps; the lr schedule was planned for {planned}, so it ended "
        "above its floor"
    )


def finish_run(
    trainer, stop_reason: str, after: dict | None, final: Path, wall_start: float
) -> dict:
    """The run's report (returned on every process) and, from the main process,
    report.json / report.md, learning_curve.png and run.json."""
    cfg, st, out = trainer.cfg, trainer.state, trainer.out
    report = {
        "model": cfg.model,
        "data": trainer.data_label,
        "train_data": trainer.triplets.source,
        "train_triplets": len(trainer.triplets),
        "steps": st.step,
        "stop_reason": stop_reason,
        "train_seconds": round(st.train_seconds, 1),
        "skipped_steps": st.skipped_steps,
        "before": trainer.before,
        "after": after,
        "best": st.best,
        "eval_history": st.eval_history,
        "final": str(final),
    }
    if not parallel.is_main():
        return report
    dev = trainer.dev
    plot_learning_curve(
        st.eval_history, out / "learning_curve.png", f"{cfg.model}: {dev.name if dev else ''}"
    )
    write_report(out, report)
    run = {
        "config": cfg.to_dict(),
        "versions": versions(),
        "seed": cfg.seed,
        "data_sha256": trainer.triplets.sha256,
        "data_source": trainer.triplets.source,
        "skipped_rows": len(trainer.triplets.skipped),
        "steps": st.step,
        "device": describe(trainer.device),
        "peak_gpu_gib": peak_gpu_gib(trainer.device),
        "train_seconds": round(st.train_seconds, 1),
        "wall_seconds": round(time.perf_counter() - wall_start, 1),
        "resumes": st.resumes,
        "argv": sys.argv,
    }
    (out / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    return report
