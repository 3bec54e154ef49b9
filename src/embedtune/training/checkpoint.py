"""Checkpoints that are either complete or invisible.

A checkpoint is written into a temporary sibling folder and renamed into place; its
``manifest.json`` (with a sha256 per file) is written last. A folder without a manifest,
or whose files do not match it, is never loaded. Only trainable weights are stored (the
LoRA adapter, or every weight for full fine-tuning), with the optimizer, RNG states and
the data position, so ``--resume`` continues exactly where the run stopped.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from embedtune.atomic import atomic_dir

MANIFEST = "manifest.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def rng_state() -> dict:
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {
        n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad
    }


def save_checkpoint(
    folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict
) -> Path:
    """Write ``folder`` atomically: weights, optimizer, RNG, ``state`` (JSON), manifest.

    Refuses non-finite weights (a checkpoint must always be safe to resume from) and checks
    the disk has room for weights plus the two Adam moments before writing anything.
    """
    weights = trainable_state(model)
    bad = [n for n, t in weights.items() if not torch.isfinite(t).all()]
    if bad:
        raise ValueError(f"refusing to checkpoint non-finite weights ({bad[0]}, ...)")
    nbytes = sum(t.numel() * t.element_size() for t in weights.values())
    # weights plus the two Adam moments
    with atomic_dir(folder, 3 * nbytes + (1 << 20), f"checkpoint {folder.name}") as tmp:
        save_file(weights, tmp / "trainable.safetensors")
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(rng_state(), tmp / "rng.pt")
        (tmp / "state.json").write_text(json.dumps(state, indent=2))
        files = {p.name: _sha256(p) for p in sorted(tmp.iterdir())}
        (tmp / MANIFEST).write_text(json.dumps({"step": state["step"], "files": files}, indent=2))
    return folder


def is_complete(folder: Path) -> bool:
    """True when the manifest exists and every file in it matches its checksum."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        return all(_sha256(folder / name) == digest for name, digest in manifest["files"].items())
    except (OSError, ValueError, KeyError):
        return False


def list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoints under ``root`` (``step-N`` folders), oldest first."""
    if not root.is_dir():
        return []
    found = [p for p in root.glob("step-*") if p.is_dir() and p.name[5:].isdigit()]
    return sorted((p for p in found if is_complete(p)), key=lambda p: int(p.name[5:]))


def load_checkpoint(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """Restore weights, optimizer and RNG from ``folder``; returns its state dict."""
    weights = load_file(folder / "trainable.safetensors")
    params = dict(model.named_parameters())
    missing = [n for n in weights if n not in params]
    if missing:
        raise ValueError(f"{folder}: checkpoint has weights the model lacks: {missing[:3]}")
    with torch.no_grad():
        for name, value in weights.items():
            params[name].copy_(value)
    # map to CPU: a run checkpointed on a GPU resumes anywhere (the optimizer moves its
    # state to each parameter's device)
    optimizer.load_state_dict(
        torch.load(folder / "optimizer.pt", map_location="cpu", weights_only=False)
    )
    set_rng_state(torch.load(folder / "rng.pt", map_location="cpu", weights_only=False))
    return json.loads((folder / "state.json").read_text())


def remove_partial(root: Path) -> None:
    """Delete half-written checkpoints (temporary folders left by a killed process)."""
    if root.is_dir():
        for tmp in root.glob(".step-*"):
            shutil.rmtree(tmp, ignore_errors=True)


def prune_checkpoints(root: Path, keep: int, protect: int | None = None) -> None:
    """Delete all but the newest ``keep`` checkpoints, never the step ``protect`` (the best)."""
    complete = list_checkpoints(root)
    for old in complete[:-keep] if keep else complete:
        if protect is not None and old.name == f"step-{protect}":
            continue
        shutil.rmtree(old, ignore_errors=True)
