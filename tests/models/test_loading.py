"""Where a model argument points, and models that need more than transformers has:
modelling code shipped with the model (MiniCPM), and the study's other architectures."""

import json
import shutil
import time

import pytest

from embedtune.config import load_config
from embedtune.data.triplets import read_triplets
from embedtune.errors import EmbedtuneError
from embedtune.models import Embedder
from embedtune.training.trainer import Trainer
from tests.conftest import build_tiny_decoder

CONFIGURATION = """
from transformers import LlamaConfig


class MiniCPMConfig(LlamaConfig):
    model_type = "minicpm"
"""
MODELING = """
from transformers import LlamaForCausalLM, LlamaModel

from .configuration_minicpm import MiniCPMConfig


class MiniCPMModel(LlamaModel):
    config_class = MiniCPMConfig


class MiniCPMForCausalLM(LlamaForCausalLM):
    config_class = MiniCPMConfig
"""


@pytest.fixture
def remote_code_model(tiny_decoder):
    """The tiny decoder as a Hub repository of an architecture transformers lacks ships it:
    model_type `minicpm`, its classes in the folder, named by `auto_map` in config.json."""
    (tiny_decoder / "configuration_minicpm.py").write_text(CONFIGURATION)
    (tiny_decoder / "modeling_minicpm.py").write_text(MODELING)
    config = json.loads((tiny_decoder / "config.json").read_text())
    config.update(
        model_type="minicpm",
        architectures=["MiniCPMForCausalLM"],
        auto_map={
            "AutoConfig": "configuration_minicpm.MiniCPMConfig",
            "AutoModel": "modeling_minicpm.MiniCPMModel",
            "AutoModelForCausalLM": "modeling_minicpm.MiniCPMForCausalLM",
        },
    )
    (tiny_decoder / "config.json").write_text(json.dumps(config))
    return tiny_decoder


def _paper_run(config, model, data, out):
    cfg = load_config(
        f"configs/{config}",
        {
            "model": str(model),
            "data": str(data),
            "output_dir": str(out),
            "batch_size": 8,
            "max_steps": 2,
            "warmup_steps": 1,
            "eval_every": 0,
            "eval_tasks": "",
            "save_every": 0,
            "device": "cpu",
        },
    )
    return Trainer(cfg, read_triplets(data)).train()


def test_remote_code_needs_the_flag_and_is_remembered(remote_code_model, triplet_file, tmp_path):
    with pytest.raises(EmbedtuneError, match="--trust-remote-code"):
        Embedder.load(remote_code_model)
    emb = Embedder.load(remote_code_model, trust_remote_code=True)
    assert type(emb.backbone).__name__ == "MiniCPMModel" and emb.config.pooling == "last_token"
    # the study's MiniCPM recipe trains it (its config turns the flag on) ...
    report = _paper_run("paper-minicpm-2b.yaml", remote_code_model, triplet_file, tmp_path / "run")
    assert report["steps"] == 2
    saved = json.loads((tmp_path / "run" / "final" / "embedtune.json").read_text())
    assert saved["trust_remote_code"] is True
    # ... and the trained model loads again without the flag, from the run folder
    again = Embedder.load(tmp_path / "run")
    assert again.encode(["a cat sleeps"]).shape == (1, emb.dim)


@pytest.mark.parametrize(
    "arch, config", [("phi", "paper-phi-2.yaml"), ("gemma", "paper-gemma-2b.yaml")]
)
def test_the_studys_other_recipes_train_their_architectures(arch, config, triplet_file, tmp_path):
    build_tiny_decoder(tmp_path / arch, arch.capitalize(), head_dim=8)
    report = _paper_run(config, tmp_path / arch, triplet_file, tmp_path / "run")
    assert report["steps"] == 2
    trained = Embedder.load(tmp_path / "run" / "final")
    assert trained.backbone.config.model_type == arch
    assert any("lora_A" in n and "q_proj" in n for n, _ in trained.backbone.named_parameters())


def test_a_run_folder_stands_for_its_final_model(tiny_decoder, triplet_file, tmp_path, capsys):
    from embedtune.cli import main
    from tests.conftest import tiny_config

    Trainer(tiny_config(tmp_path, tiny_decoder, max_steps=2), read_triplets(triplet_file)).train()
    run = tmp_path / "run"
    assert Embedder.load(run).config.adapter  # final/
    root = tmp_path / "data" / "sts" / "stsb"
    root.mkdir(parents=True)
    pairs = [("a cat sleeps", "a cat is sleeping", 4.5), ("a man runs", "the bird sings", 0.5)]
    pairs += [("a dog runs", "two dogs run", 3.0)]
    (root / "test.tsv").write_text(
        "sentence1\tsentence2\tscore\n" + "".join(f"{a}\t{b}\t{c}\n" for a, b, c in pairs)
    )
    data_dir = str(tmp_path / "data")
    assert main(["evaluate", "--model", str(run), "--tasks", "stsb", "--data-dir", data_dir]) == 0
    # a run that did not finish: which checkpoints exist, no traceback
    unfinished = tmp_path / "unfinished"
    (unfinished / "checkpoints" / "step-2").mkdir(parents=True)
    (unfinished / "metrics.jsonl").write_text("")
    with pytest.raises(EmbedtuneError, match="without a final/ model.*step-2.*--resume"):
        Embedder.load(unfinished)
    capsys.readouterr()
    assert main(["export", str(unfinished), "--output", str(tmp_path / "x")]) == 2
    assert "without a final/ model" in capsys.readouterr().err


def test_paths_never_go_to_the_hub_and_unknown_names_fail_fast(tmp_path, monkeypatch):
    import huggingface_hub

    calls = []

    def unreachable(self, name, **kw):
        calls.append(name)
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", unreachable)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    for path in ["runs/nothere", "./model", "a/b/c", "~/nothere-embedtune"]:
        with pytest.raises(EmbedtuneError, match="does not exist"):
            Embedder.load(path)
    assert calls == []  # not one Hub request for a path
    start = time.perf_counter()
    with pytest.raises(EmbedtuneError, match="minilm-l12.*Hub is unreachable"):
        Embedder.load("minilm-l12")
    assert calls == ["minilm-l12"] and time.perf_counter() - start < 30  # no retry loop
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EmbedtuneError, match="HF_HUB_OFFLINE"):
        Embedder.load("org/model")
    assert calls == ["minilm-l12"]
    shutil.rmtree(tmp_path / "runs")


def test_loading_and_wrapping_print_no_deprecation_warning(tiny_decoder, tmp_path):
    """peft asks transformers for a deprecated attribute on every LoRA wrap and load; users
    saw the FutureWarning on every command."""
    import subprocess
    import sys

    script = (
        "from embedtune.models import Embedder\n"
        "from embedtune.models.lora import apply_lora\n"
        f"e = Embedder.load({str(tiny_decoder)!r})\n"
        "apply_lora(e)\n"
        f"e.save({str(tmp_path / 'a')!r})\n"
        f"Embedder.load({str(tmp_path / 'a')!r})\n"
    )
    r = subprocess.run(
        [sys.executable, "-W", "default", "-c", script], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "FutureWarning" not in r.stderr
