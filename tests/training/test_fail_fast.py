"""A wrong run fails in seconds, before minutes of evaluation, and leaves nothing behind;
a resume continues only the run its checkpoint belongs to."""

import json

import pytest

from embedtune.cli import main
from embedtune.data.triplets import read_triplets
from embedtune.errors import EmbedtuneError
from embedtune.training.trainer import Trainer
from tests.conftest import tiny_config


def _three_rows(tmp_path):
    path = tmp_path / "tiny.tsv"
    path.write_text("anchor\tpositive\tnegative\n" + "a cat\ta pet\ta car\n" * 3)
    return path


def test_too_few_triplets_fail_before_the_model_loads_or_anything_is_written(
    tiny_decoder, tmp_path, monkeypatch
):
    import embedtune.training.model as model_module

    def no_model(*a, **kw):
        raise AssertionError("the model was loaded before the data was checked")

    monkeypatch.setattr(model_module, "build_embedder", no_model)
    cfg = tiny_config(tmp_path, tiny_decoder, batch_size=8)
    with pytest.raises(EmbedtuneError, match="3 triplets are fewer than one batch of 8"):
        Trainer(cfg, read_triplets(_three_rows(tmp_path))).train()
    assert not (tmp_path / "run").exists()


def test_lora_targets_that_match_nothing_fail_before_the_before_evaluation(
    tiny_decoder, triplet_file, tmp_path
):
    cfg = tiny_config(tmp_path, tiny_decoder, lora_target_modules=["query", "value"])
    with pytest.raises(EmbedtuneError, match="match no module"):
        Trainer(cfg, read_triplets(triplet_file), final_tasks=[object()]).train()
    assert not (tmp_path / "run" / "before.json").exists()


def _train(model, data, out, *extra):
    return main(
        ["train", "--model", str(model), "--data", str(data), "--output-dir", str(out)]
        + ["--batch-size", "8", "--max-steps", "4", "--save-every", "2", "--eval-every", "0"]
        + ["--eval-tasks", "", "--dtype", "fp32", "--device", "cpu", "--max-length", "16"]
        + list(extra)
    )


def test_resume_refuses_a_different_run_naming_the_keys(
    tiny_decoder, triplet_file, tmp_path, capsys
):
    out = tmp_path / "run"
    assert _train(tiny_decoder, triplet_file, out) == 0
    state = json.loads((out / "checkpoints" / "step-4" / "state.json").read_text())
    assert state["fingerprint"]["batch_size"] == 8 and "bad_in_row" in state
    capsys.readouterr()
    assert (
        _train(tiny_decoder, triplet_file, out, "--resume", "--batch-size", "4", "--seed", "9") == 2
    )
    err = capsys.readouterr().err
    assert "different run" in err and "`batch_size` 8 -> 4" in err and "`seed` 42 -> 9" in err
    other = tmp_path / "other.tsv"
    other.write_text(triplet_file.read_text().replace("guitar", "piano"))
    assert _train(tiny_decoder, other, out, "--resume") == 2
    assert "`data_sha256`" in capsys.readouterr().err
    # what only watches the run may change
    assert _train(tiny_decoder, triplet_file, out, "--resume", "--max-minutes", "5") == 0
