"""Matryoshka training end to end: GradCache and gathered negatives see the same loss, the
dims are saved with the model, bad dims stop with the key's name."""

import json

import pytest

from embedtune.cli import main
from embedtune.models import Embedder
from tests.training.test_gradcache import _grads

DIMS = dict(matryoshka_dims=[32, 16, 8], matryoshka_weights=[1.0, 1.0, 0.5])


def test_gradcache_equals_no_gradcache_with_matryoshka(tiny_decoder, triplet_file, tmp_path):
    plain_loss, plain = _grads(
        tiny_decoder, triplet_file, tmp_path, "plain", lora_dropout=0.0, **DIMS
    )
    cached_loss, cached = _grads(
        tiny_decoder, triplet_file, tmp_path, "cached", lora_dropout=0.0, mini_batch_size=3, **DIMS
    )
    base_loss, _ = _grads(tiny_decoder, triplet_file, tmp_path, "base", lora_dropout=0.0)
    assert cached_loss == pytest.approx(plain_loss, abs=1e-6)
    assert plain_loss > base_loss  # three weighted losses, not one
    assert max((plain[k] - cached[k]).abs().max().item() for k in plain) <= 1e-5


def test_the_trained_dims_are_saved_with_the_model(tiny_decoder, triplet_file, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--model", str(tiny_decoder), "--data", str(triplet_file), "--max-steps", "2"]
    args += ["--batch-size", "8", "--dtype", "fp32", "--eval-every", "0", "--eval-tasks", ""]
    args += ["--output-dir", str(out), "--matryoshka-dims", "32,16,8", "--max-length", "16"]
    assert main(args) == 0
    assert json.loads((out / "final" / "embedtune.json").read_text())["matryoshka_dims"] == [
        32,
        16,
        8,
    ]
    assert Embedder.load(out / "final").config.matryoshka_dims == [32, 16, 8]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--matryoshka-dims", "8,16"], "`matryoshka_dims` must be strictly descending"),
        (["--matryoshka-dims", "16,0"], "`matryoshka_dims` must be positive integers"),
        (["--matryoshka-dims", "64,16"], "`matryoshka_dims` starts at 64, above the model's 32"),
        (["--matryoshka-dims", "16,8", "--matryoshka-weights", "1"], "`matryoshka_weights` has 1"),
    ],
)
def test_bad_matryoshka_settings_exit_2_naming_the_key(
    tiny_decoder, triplet_file, tmp_path, capsys, flags, message
):
    args = ["train", "--model", str(tiny_decoder), "--data", str(triplet_file), "--max-steps", "1"]
    args += ["--batch-size", "8", "--dtype", "fp32", "--eval-every", "0", "--eval-tasks", ""]
    args += ["--output-dir", str(tmp_path / "run"), *flags]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run" / "final").exists()
