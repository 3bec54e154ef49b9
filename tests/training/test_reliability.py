"""Crashes, bad numbers and broken checkpoints must never cost work or correctness."""

import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from embedtune.data.triplets import read_triplets
from embedtune.errors import TrainingError
from embedtune.training import checkpoint as ckpt
from embedtune.training.trainer import Trainer
from tests.conftest import tiny_config

_cfg = tiny_config


def _dev_root(tmp_path) -> Path:
    root = tmp_path / "data"
    (root / "sts" / "stsb").mkdir(parents=True)
    rows = [
        ("a man plays a guitar", "a man plays music", 4.2),
        ("a cat sleeps", "a dog runs", 0.4),
        ("the child reads a book", "a child is reading", 4.8),
        ("two dogs run", "people sing", 0.0),
        ("a woman cooks food", "a woman is cooking", 4.6),
        ("a bird sits", "a bird is sitting", 4.0),
    ]
    (root / "sts" / "stsb" / "dev.tsv").write_text(
        "sentence1\tsentence2\tscore\n" + "".join(f"{a}\t{b}\t{s}\n" for a, b, s in rows)
    )
    return root


def _train_cmd(model, data, root, out, resume=False):
    cmd = [
        sys.executable,
        "-m",
        "embedtune",
        "train",
        "--model",
        str(model),
        "--data",
        str(data),
        "--data-dir",
        str(root),
        "--output-dir",
        str(out),
        "--max-steps",
        "14",
        "--save-every",
        "1",
        "--batch-size",
        "8",
        "--lr",
        "5e-3",
        "--warmup-steps",
        "2",
        "--dtype",
        "fp32",
        "--eval-every",
        "3",
        "--eval-tasks",
        "",
        "--log-every",
        "1",
        "--seed",
        "5",
        "--max-length",
        "16",
        "--lora-dropout",
        "0.1",
        "--keep-checkpoints",
        "2",
    ]
    return cmd + (["--resume"] if resume else [])


def _steps_logged(out: Path) -> int:
    try:
        rows = [
            json.loads(r) for r in (out / "metrics.jsonl").read_text().splitlines() if r.strip()
        ]
    except (OSError, ValueError):
        return 0
    return max((r["step"] for r in rows), default=0)


def test_sigkill_at_random_steps_then_resume_is_bitwise_identical(
    tiny_decoder, triplet_file, tmp_path
):
    root = _dev_root(tmp_path)
    env = {**os.environ, "EMBEDTUNE_DATA_DIR": ""}
    subprocess.run(
        _train_cmd(tiny_decoder, triplet_file, root, tmp_path / "whole"),
        check=True,
        env=env,
        capture_output=True,
    )
    out = tmp_path / "killed"
    kill_at = sorted(random.Random(7).sample(range(2, 13), 3))
    for i, step in enumerate(kill_at):
        proc = subprocess.Popen(
            _train_cmd(tiny_decoder, triplet_file, root, out, resume=i > 0),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 120
        while _steps_logged(out) < step and proc.poll() is None and time.time() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert not (out / "final").exists(), f"run {i} finished before it was killed at step {step}"
    subprocess.run(
        _train_cmd(tiny_decoder, triplet_file, root, out, resume=True),
        check=True,
        env=env,
        capture_output=True,
    )
    a = load_file(tmp_path / "whole" / "final" / "adapter" / "adapter_model.safetensors")
    b = load_file(out / "final" / "adapter" / "adapter_model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    history = [
        json.loads((d / "report.json").read_text())["eval_history"]
        for d in (tmp_path / "whole", out)
    ]
    assert history[0] == history[1] and len(history[0]) >= 4
    steps = [
        json.loads(r)["step"]
        for r in (out / "metrics.jsonl").read_text().splitlines()
        if "loss" in r
    ]
    assert steps == list(range(1, 15))  # no step lost or logged twice


def _inject_nan(trainer, bad_steps):
    real = trainer.loss_fn

    def loss_fn(*args, **kw):
        loss = real(*args, **kw)
        return loss * float("nan") if trainer.state.step in bad_steps else loss

    trainer.loss_fn = loss_fn


def test_non_finite_steps_are_skipped_and_checkpoints_stay_finite(
    tiny_decoder, triplet_file, tmp_path
):
    trainer = Trainer(
        _cfg(tmp_path, tiny_decoder, max_steps=10, save_every=1, keep_checkpoints=20),
        read_triplets(triplet_file),
    )
    _inject_nan(trainer, {2, 5, 6})
    with pytest.warns(UserWarning, match="non-finite"):
        report = trainer.train()
    assert report["skipped_steps"] == 3 and report["steps"] == 10
    for folder in ckpt.list_checkpoints(tmp_path / "run" / "checkpoints"):
        assert all(
            torch.isfinite(t).all() for t in load_file(folder / "trainable.safetensors").values()
        )
    assert all(math.isfinite(v.abs().sum().item()) for v in trainer.embedder.state_dict().values())


def test_consecutive_non_finite_steps_stop_the_run_keeping_the_last_good_checkpoint(
    tiny_decoder, triplet_file, tmp_path
):
    trainer = Trainer(
        _cfg(tmp_path, tiny_decoder, max_steps=20, save_every=2), read_triplets(triplet_file)
    )
    _inject_nan(trainer, set(range(4, 20)))
    with (
        pytest.warns(UserWarning),
        pytest.raises(TrainingError, match="5 non-finite steps in a row"),
    ):
        trainer.train()
    latest = ckpt.list_checkpoints(tmp_path / "run" / "checkpoints")[-1]
    assert (
        latest.name == "step-8"
    )  # steps 5..8 were skipped but counted; weights unchanged since step 4
    assert all(
        torch.isfinite(t).all() for t in load_file(latest / "trainable.safetensors").values()
    )


def test_resume_ignores_a_half_written_checkpoint(tiny_decoder, triplet_file, tmp_path, caplog):
    caplog.set_level("INFO", logger="embedtune")
    data = read_triplets(triplet_file)
    Trainer(
        _cfg(tmp_path, tiny_decoder, max_steps=6, save_every=2, keep_checkpoints=5), data
    ).train()
    root = tmp_path / "run" / "checkpoints"
    # simulate a kill mid-write: step-6 truncated, step-4 without manifest, a temp folder
    weights = root / "step-6" / "trainable.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    (root / "step-4" / ckpt.MANIFEST).unlink()
    (root / ".step-8-abc").mkdir()
    assert [p.name for p in ckpt.list_checkpoints(root)] == ["step-2"]
    resumed = Trainer(
        _cfg(tmp_path, tiny_decoder, max_steps=6, save_every=2, keep_checkpoints=5, resume=True),
        data,
    )
    resumed.setup()
    assert resumed.state.step == 2 and "resuming from" in caplog.text
    assert not (root / ".step-8-abc").exists()


def test_checkpoint_refuses_non_finite_weights(tmp_path):
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.AdamW(model.parameters())
    with torch.no_grad():
        model.weight[0, 0] = float("inf")
    with pytest.raises(ValueError, match="non-finite"):
        ckpt.save_checkpoint(tmp_path / "step-1", model, opt, {"step": 1})
    assert not any(tmp_path.iterdir())


def test_disk_full_fails_before_writing(tmp_path, monkeypatch):
    import shutil

    from embedtune.errors import EmbedtuneError

    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(100, 100, 10))
    model = torch.nn.Linear(64, 64)
    with pytest.raises(EmbedtuneError, match="not enough disk space"):
        ckpt.save_checkpoint(
            tmp_path / "ck" / "step-1", model, torch.optim.AdamW(model.parameters()), {"step": 1}
        )
    assert not (tmp_path / "ck").exists()
