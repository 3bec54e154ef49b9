"""Weight averaging of the last points of a run (a "model soup" along one trajectory).

Averaging the weights of the last few points of one run lands nearer the centre of the
basin the optimiser circles in at the end (Izmailov et al., SWA; Wortsman et al., model
soups) and costs nothing but a few copies of the trainable weights. With ``average_last N``
the trainable weights are snapshotted every ``average_every`` steps, and at the end of the
run ``final/`` holds the mean of the last N snapshots, the final step's weights included.

Only trainable weights are averaged: under LoRA that is the adapter's A and B matrices, each
averaged on its own. The mean of B A products is not the product of the means, but the
points of one run's last steps are close, so the difference is second order; averaging A
and B keeps the result an adapter of the same rank.

Snapshots are written to ``<output_dir>/average/step-K.safetensors`` (an adapter's are a few
MB), so a resumed run averages the same points as one that never stopped.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from embedtune import parallel
from embedtune.atomic import atomic_file
from embedtune.config import TrainConfig
from embedtune.log import log
from embedtune.training.checkpoint import trainable_state


def averager_for(cfg: TrainConfig, model: torch.nn.Module, out: Path, step: int):
    """The run's Averager (None without ``average_last``), with no snapshot past ``step``
    (a fresh run starts with none; a resume redoes those after its checkpoint)."""
    if not cfg.average_last:
        return None
    averager = Averager(model, out / "average", cfg.average_last, cfg.average_every)
    averager.drop_after(step)
    return averager


def _step(path: Path) -> int:
    """The step of a snapshot file ``step-K.safetensors``."""
    return int(path.stem.split("-")[1])


class Averager:
    def __init__(self, model: torch.nn.Module, folder: Path, last: int, every: int):
        self.model, self.folder, self.last, self.every = model, folder, last, every

    def _snapshots(self) -> list[Path]:
        found = self.folder.glob("step-*.safetensors") if self.folder.is_dir() else []
        return sorted(found, key=_step)

    def after_step(self, step: int) -> None:
        """Snapshot the trainable weights at every ``every``-th step (main process)."""
        if step % self.every == 0:
            self.snapshot(step)

    def snapshot(self, step: int) -> None:
        if parallel.is_main():
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic_file(self.folder / f"step-{step}.safetensors") as tmp:
                save_file(trainable_state(self.model), str(tmp))
            for old in self._snapshots()[: -self.last]:
                old.unlink()
        parallel.barrier()

    def drop_after(self, step: int) -> None:
        """Forget snapshots past ``step`` (a resume from an earlier checkpoint redoes them)."""
        if parallel.is_main():
            for path in self._snapshots():
                if _step(path) > step:
                    path.unlink()
        parallel.barrier()

    @torch.no_grad()
    def apply(self, step: int) -> list[int]:
        """Set the trainable weights to the mean of the last ``last`` snapshots, the current
        weights (step ``step``) among them; returns the steps averaged."""
        held = self._snapshots()
        if not held or _step(held[-1]) != step:
            self.snapshot(step)
        chosen = self._snapshots()[-self.last :]
        total: dict[str, torch.Tensor] = {}
        for path in chosen:
            for name, tensor in load_file(str(path)).items():
                total[name] = total.get(name, 0) + tensor.double()
        params = dict(self.model.named_parameters())
        for name, summed in total.items():
            params[name].copy_((summed / len(chosen)).to(params[name].dtype))
        steps = [_step(p) for p in chosen]
        if parallel.is_main():
            log.info(f"final/: the mean of the trainable weights at steps {steps}")
        return steps
