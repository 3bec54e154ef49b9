import json

import pytest
import torch
from safetensors.torch import load_file

from embedtune.data.triplets import read_triplets
from embedtune.models import Embedder
from embedtune.training.checkpoint import list_checkpoints
from embedtune.training.trainer import Trainer
from tests.conftest import on_every_device, tiny_config

_cfg = tiny_config


def _losses(out):
    rows = [json.loads(r) for r in (out / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if "loss" in r]


def test_only_lora_parameters_receive_gradients(tiny_decoder, triplet_file, tmp_path):
    trainer = Trainer(_cfg(tmp_path, tiny_decoder), read_triplets(triplet_file))
    trainer.setup()
    trainer.micro_batch_backward(list(range(8)), 1.0)
    named = dict(trainer.embedder.named_parameters())
    with_grad = {n for n, p in named.items() if p.grad is not None and p.grad.abs().sum() > 0}
    assert with_grad and all("lora_" in n for n in with_grad)
    assert all(not p.requires_grad for n, p in named.items() if "lora_" not in n)
    assert any("q_proj" in n for n in with_grad) and any("v_proj" in n for n in with_grad)


@on_every_device
def test_thirty_steps_lower_the_loss(tiny_decoder, triplet_file, tmp_path, device):
    cfg = _cfg(
        tmp_path,
        tiny_decoder,
        max_steps=30,
        lr=1e-2,
        lora_dropout=0.0,
        warmup_steps=3,
        device=device,
    )
    report = Trainer(cfg, read_triplets(triplet_file)).train()
    losses = _losses(tmp_path / "run")
    assert report["steps"] == 30 and len(losses) == 30
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5


def test_full_finetune_of_an_encoder_trains_every_weight(tiny_encoder, triplet_file, tmp_path):
    cfg = _cfg(tmp_path, tiny_encoder, lora=False, max_steps=2, lr=1e-3)
    trainer = Trainer(cfg, read_triplets(triplet_file))
    trainer.setup()
    assert all(p.requires_grad for p in trainer.embedder.parameters())


@on_every_device
def test_resume_ends_with_the_same_weights(tiny_decoder, triplet_file, tmp_path, device):
    data = read_triplets(triplet_file)
    full = Trainer(_cfg(tmp_path, tiny_decoder, "full", max_steps=9, device=device), data)
    full.train()
    # stop after 4 steps (a checkpoint every 2), then resume to the same total
    part = _cfg(tmp_path, tiny_decoder, "part", max_steps=9, save_every=2, device=device)
    first = Trainer(part, data)
    _train_until(first, 4)
    assert [c.name for c in list_checkpoints(tmp_path / "part" / "checkpoints")][-1] == "step-4"
    state = json.loads((tmp_path / "part" / "checkpoints" / "step-4" / "state.json").read_text())
    resumed = Trainer(
        _cfg(tmp_path, tiny_decoder, "part", max_steps=9, save_every=2, resume=True, device=device),
        data,
    )
    resumed.train()
    a = load_file(tmp_path / "full" / "final" / "adapter" / "adapter_model.safetensors")
    b = load_file(tmp_path / "part" / "final" / "adapter" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    assert max((a[k] - b[k]).abs().max().item() for k in a) <= 1e-6
    assert _losses(tmp_path / "full") == pytest.approx(_losses(tmp_path / "part"), abs=1e-6)
    # the run's wall time counts the first start too, not only the time since the resume
    run = json.loads((tmp_path / "part" / "run.json").read_text())
    assert run["resumes"] == 1 and run["wall_seconds"] > state["wall_seconds"] > 0


def _train_until(trainer, stop_at):
    """Run the loop but crash right after step ``stop_at`` (as a killed process would)."""

    class Stop(Exception):
        pass

    original = trainer._checkpoint

    def checkpoint_then_maybe_stop():
        original()
        if trainer.state.step >= stop_at:
            raise Stop

    trainer._checkpoint = checkpoint_then_maybe_stop
    with pytest.raises(Stop):
        trainer.train()


@on_every_device
def test_final_folder_loads_as_an_embedder(tiny_decoder, triplet_file, tmp_path, device):
    cfg = _cfg(tmp_path, tiny_decoder, max_steps=3, device=device)
    trainer = Trainer(cfg, read_triplets(triplet_file))
    trainer.train()
    out = tmp_path / "run"
    for name in ["final", "metrics.jsonl", "report.json", "report.md", "run.json"]:
        assert (out / name).exists(), name
    trained = Embedder.load(out / "final")  # on the CPU, wherever it was trained
    assert trained.config.adapter and trained.config.base_model == str(tiny_decoder)
    assert trained.config.pooling == "last_token"
    texts = ["a man plays the guitar", "the dog runs in the park"]
    # the weights on disk are the weights trained, whatever the device
    assert abs(trained.encode(texts) - trainer.embedder.eval().encode(texts)).max() <= 1e-4
    run = json.loads((out / "run.json").read_text())
    assert (
        run["seed"] == 3
        and len(run["data_sha256"]) == 64
        and run["versions"]["torch"] == torch.__version__
        and run["device"].startswith(device)
    )
    assert trainer.embedder.device.type == device


def test_existing_checkpoints_need_resume(tiny_decoder, triplet_file, tmp_path):
    data = read_triplets(triplet_file)
    Trainer(_cfg(tmp_path, tiny_decoder, max_steps=2, save_every=1), data).train()
    with pytest.raises(Exception, match="--resume"):
        Trainer(_cfg(tmp_path, tiny_decoder, max_steps=2, save_every=1), data).train()


def test_gradient_checkpointing_gives_the_same_gradients(tiny_decoder, triplet_file, tmp_path):
    grads = []
    for name, ckpt_on in [("plain", False), ("ckpt", True)]:
        trainer = Trainer(
            _cfg(tmp_path, tiny_decoder, name, lora_dropout=0.0, gradient_checkpointing=ckpt_on),
            read_triplets(triplet_file),
        )
        trainer.setup()
        trainer.embedder.train()
        trainer.micro_batch_backward(list(range(8)), 1.0)
        grads.append(
            {
                n: p.grad.clone()
                for n, p in trainer.embedder.named_parameters()
                if p.grad is not None
            }
        )
    assert grads[0].keys() == grads[1].keys() and grads[0]
    assert max((grads[0][k] - grads[1][k]).abs().max().item() for k in grads[0]) <= 1e-5


def test_tensorboard_logs_when_installed(tiny_decoder, triplet_file, tmp_path):
    pytest.importorskip("tensorboard")
    Trainer(_cfg(tmp_path, tiny_decoder, max_steps=2), read_triplets(triplet_file)).train()
    assert any((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))


def _sts_task():
    import numpy as np

    from embedtune.data.sts import STSData
    from tests.conftest import SENTENCES

    s1, s2 = SENTENCES[:6], SENTENCES[2:8]
    return STSData("stsb", "STS-B", s1, s2, np.arange(6, dtype=float))


def test_eval_tasks_at_scores_the_tasks_mid_run_and_eval_before_can_be_skipped(
    tiny_decoder, triplet_file, tmp_path
):
    cfg = _cfg(tmp_path, tiny_decoder, max_steps=4, eval_before=False, eval_tasks_at=[2])
    report = Trainer(cfg, read_triplets(triplet_file), final_tasks=[_sts_task()]).train()
    out = tmp_path / "run"
    assert report["before"] is None and not (out / "before.json").exists()
    mid = json.loads((out / "at-step-2.json").read_text())
    assert set(mid["tasks"]) == {"stsb"}
    assert report["after"]["tasks"]["stsb"]["n"] == 6


def test_the_after_evaluation_in_a_child_process_gives_the_in_process_scores(
    tiny_decoder, triplet_file, tmp_path
):
    data, task = read_triplets(triplet_file), _sts_task()
    scores = {}
    for name, child in [("child", True), ("inproc", False)]:
        cfg = _cfg(tmp_path, tiny_decoder, name, max_steps=3, eval_in_subprocess=child)
        scores[name] = Trainer(cfg, data, final_tasks=[task]).train()["after"]["tasks"]["stsb"]
    assert scores["child"]["spearman"] == pytest.approx(scores["inproc"]["spearman"], abs=1e-9)
    assert scores["child"]["pearson"] == pytest.approx(scores["inproc"]["pearson"], abs=1e-6)


def test_false_negatives_are_masked_in_training(tiny_decoder, triplet_file, tmp_path):
    """Rows 0 and 8 of the triplet file are the same triplet: in one batch each is the
    other's false negative. Masked, the loss is the loss of a batch without the twin in the
    denominator; unmasked, it is higher."""
    data = read_triplets(triplet_file)
    assert data.anchors[0] == data.anchors[8]
    losses = {}
    for mask in (True, False):
        cfg = _cfg(tmp_path, tiny_decoder, f"m{mask}", lora_dropout=0.0, mask_false_negatives=mask)
        trainer = Trainer(cfg, data)
        trainer.setup()
        batch = [0, 1, 2, 3, 8, 9, 10, 11]  # every row has its twin in the batch
        expected = trainer.data.false_negatives(batch, 0)
        losses[mask], _ = trainer.micro_batch_backward(batch, 1.0)
    assert expected is None or expected.sum() > 0
    assert losses[True] < losses[False]


def test_a_time_limited_run_says_why_it_stopped_and_its_curve_starts_at_step_0(
    tiny_decoder, triplet_file, tmp_path, caplog
):
    caplog.set_level("INFO", logger="embedtune")
    cfg = _cfg(tmp_path, tiny_decoder, max_steps=50, max_minutes=1e-9, eval_every=5)
    report = Trainer(cfg, read_triplets(triplet_file), dev=_sts_task()).train()
    out = caplog.text
    assert report["stop_reason"] == "max_minutes"
    assert f"after {report['steps']} of 50 planned steps" in out and "time limit" in out
    assert report["eval_history"][0]["step"] == 0  # the untrained model: a curve, not a dot
    assert len(report["eval_history"]) >= 2


def test_anchors_take_the_query_prompt_and_candidates_the_document_prompt(
    tiny_decoder, triplet_file, tmp_path
):
    from embedtune.training.encoded import EncodedTriplets

    cfg = tiny_config(
        tmp_path, tiny_decoder, query_prompt="query: {}", document_prompt="passage: {}"
    )
    trainer = Trainer(cfg, read_triplets(triplet_file))
    trainer.setup()
    t, emb = trainer.triplets, trainer.embedder
    enc = EncodedTriplets(t, emb, cfg)
    assert enc.anchors == emb.token_ids(t.anchors, cfg.max_length, role="query")
    assert enc.positives == emb.token_ids(t.positives, cfg.max_length, role="document")
    assert enc.negatives == emb.token_ids(t.negatives, cfg.max_length, role="document")
    assert enc.anchors != emb.token_ids(t.anchors, cfg.max_length)
    trainer.train()
    saved = Embedder.load(tmp_path / "run" / "final").config  # the trained model keeps them
    assert (saved.query_prompt, saved.document_prompt) == ("query: {}", "passage: {}")


def test_training_from_a_trained_run_continues_its_adapter(tiny_decoder, triplet_file, tmp_path):
    """A second stage (a trained run as the model) trains that adapter further, and its
    saved folder loads back to the weights trained; wrapping a second adapter around the
    first saved keys that did not load (0.11 off before this was fixed)."""
    data = read_triplets(triplet_file)
    texts = ["a man plays the guitar", "the dog runs in the park"]
    Trainer(_cfg(tmp_path, tiny_decoder, "one", max_steps=3), data).train()
    second = Trainer(_cfg(tmp_path, tmp_path / "one", "two", max_steps=3, lora_dropout=0.0), data)
    second.train()
    one = load_file(tmp_path / "one" / "final" / "adapter" / "adapter_model.safetensors")
    two = load_file(tmp_path / "two" / "final" / "adapter" / "adapter_model.safetensors")
    assert one.keys() == two.keys()  # the same adapter, not a nested second one
    assert max((one[k] - two[k]).abs().max().item() for k in one) > 1e-4  # trained further
    reloaded = Embedder.load(tmp_path / "two")
    assert reloaded.config.base_model == str(tiny_decoder)
    trained = second.embedder.eval().encode(texts)
    assert abs(reloaded.encode(texts) - trained).max() <= 1e-5
    assert abs(Embedder.load(tmp_path / "one").encode(texts) - trained).max() > 1e-3


def test_a_trained_adapter_keeps_its_shape_or_fails_naming_the_key(
    tiny_decoder, triplet_file, tmp_path
):
    from embedtune.errors import ConfigError

    data = read_triplets(triplet_file)
    Trainer(_cfg(tmp_path, tiny_decoder, "one", max_steps=2), data).train()
    with pytest.raises(ConfigError, match=r"`lora_r` 16 \(the adapter has 8\)"):
        Trainer(_cfg(tmp_path, tmp_path / "one", "two", max_steps=2, lora_r=16), data).train()
    assert not (tmp_path / "two" / "final").exists()


def test_full_finetune_from_a_trained_adapter_merges_it_first(tiny_decoder, triplet_file, tmp_path):
    data = read_triplets(triplet_file)
    texts = ["a man plays the guitar", "the dog runs in the park"]
    Trainer(_cfg(tmp_path, tiny_decoder, "one", max_steps=2), data).train()
    full = Trainer(_cfg(tmp_path, tmp_path / "one", "full", max_steps=2, lora=False), data)
    full.setup()
    merged = full.embedder.eval().encode(texts)  # before any step: the adapter, merged
    assert abs(Embedder.load(tmp_path / "one").encode(texts) - merged).max() <= 1e-5
    full.train()
    reloaded = Embedder.load(tmp_path / "full")
    assert not reloaded.config.adapter
    assert abs(reloaded.encode(texts) - full.embedder.eval().encode(texts)).max() <= 1e-5
