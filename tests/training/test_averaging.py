"""Weight averaging of a run's last points (training/averaging.py, ``average_last``)."""

import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from embedtune.data.triplets import read_triplets
from embedtune.errors import ConfigError
from embedtune.models import Embedder
from embedtune.training.trainer import Trainer
from tests.conftest import tiny_config


def _lora_weights(folder) -> dict[str, torch.Tensor]:
    emb = Embedder.load(folder)
    return {n: p.detach().clone() for n, p in emb.named_parameters() if "lora_" in n}


def test_final_is_the_mean_of_the_last_snapshots(tiny_decoder, triplet_file, tmp_path):
    """A plain run checkpointed every 2 steps gives the weights at steps 2..8; the same run
    with average_last 3 / average_every 2 ends with the mean of steps 4, 6 and 8 (averaging
    does not change the trajectory), and the dev history scores the averaged model."""
    data = read_triplets(triplet_file)
    common = dict(max_steps=8, lr=2e-2)
    plain = tiny_config(
        tmp_path, tiny_decoder, "plain", save_every=2, keep_checkpoints=10, **common
    )
    Trainer(plain, data).train()
    points = [
        load_file(tmp_path / "plain" / "checkpoints" / f"step-{s}" / "trainable.safetensors")
        for s in (4, 6)
    ]
    last = _lora_weights(tmp_path / "plain" / "final")
    averaged_cfg = tiny_config(
        tmp_path, tiny_decoder, "avg", average_last=3, average_every=2, **common
    )
    Trainer(averaged_cfg, data).train()
    averaged = _lora_weights(tmp_path / "avg" / "final")
    assert averaged.keys() == last.keys() and len(last) > 0
    for name, value in averaged.items():
        expected = (points[0][name].double() + points[1][name].double() + last[name].double()) / 3
        assert torch.allclose(value.double(), expected, atol=1e-7), name
    differs = max((averaged[n] - last[n]).abs().max().item() for n in last)
    assert differs > 1e-4  # the weights moved between the points: the mean is not the last
    assert sorted(p.name for p in (tmp_path / "avg" / "average").iterdir()) == [
        "step-4.safetensors",
        "step-6.safetensors",
        "step-8.safetensors",
    ]


def test_a_resumed_run_averages_the_same_points(tiny_decoder, triplet_file, tmp_path):
    """Killed after its step-4 checkpoint, with a snapshot past it already written (a stale
    step 7, as from another spacing): the resume drops the snapshots past its checkpoint,
    redoes steps 6 and 8, and ends with the same mean as the run that never stopped."""
    data = read_triplets(triplet_file)
    kw = dict(max_steps=8, lr=2e-2, save_every=2, keep_checkpoints=10, average_last=3)
    kw["average_every"] = 2
    Trainer(tiny_config(tmp_path, tiny_decoder, "whole", **kw), data).train()
    Trainer(tiny_config(tmp_path, tiny_decoder, "cut", **kw), data).train()
    cut = tmp_path / "cut"
    for step in (6, 8):
        shutil.rmtree(cut / "checkpoints" / f"step-{step}")
        (cut / "average" / f"step-{step}.safetensors").unlink()
    shutil.rmtree(cut / "final")
    four = load_file(cut / "average" / "step-4.safetensors")
    save_file(
        {n: torch.zeros_like(t) for n, t in four.items()}, cut / "average" / "step-7.safetensors"
    )
    Trainer(tiny_config(tmp_path, tiny_decoder, "cut", resume=True, **kw), data).train()
    whole, resumed = _lora_weights(tmp_path / "whole" / "final"), _lora_weights(cut / "final")
    for name in whole:
        assert torch.equal(whole[name], resumed[name]), name


@pytest.mark.parametrize("key, value", [("average_last", 1), ("average_every", 0)])
def test_bad_settings_name_the_key(tmp_path, tiny_decoder, key, value):
    with pytest.raises(ConfigError, match=f"`{key}`"):
        tiny_config(tmp_path, tiny_decoder, **{"average_last": 3, key: value})
