import pytest
import torch

from embedtune.data.triplets import read_triplets
from embedtune.training import gradcache
from embedtune.training.trainer import Trainer
from tests.conftest import on_every_device, tiny_config


def _grads(tiny_decoder, triplet_file, tmp_path, name, **kw):
    cfg = tiny_config(tmp_path, tiny_decoder, name, max_steps=1, seed=1, **kw)
    trainer = Trainer(cfg, read_triplets(triplet_file))
    trainer.setup()
    torch.manual_seed(123)
    loss, _ = trainer.micro_batch_backward(list(range(8)), 1.0)
    return loss, {
        n: p.grad.clone() for n, p in trainer.embedder.named_parameters() if p.grad is not None
    }


@on_every_device
@pytest.mark.parametrize("hard", [True, False])
def test_gradcache_gradients_equal_plain_gradients(
    tiny_decoder, triplet_file, tmp_path, hard, device
):
    plain_loss, plain = _grads(
        tiny_decoder,
        triplet_file,
        tmp_path,
        "plain",
        lora_dropout=0.0,
        hard_negatives=hard,
        device=device,
    )
    cached_loss, cached = _grads(
        tiny_decoder,
        triplet_file,
        tmp_path,
        "cached",
        lora_dropout=0.0,
        hard_negatives=hard,
        mini_batch_size=3,
        device=device,
    )
    assert cached_loss == pytest.approx(plain_loss, abs=1e-6)
    assert plain.keys() == cached.keys() and len(plain) > 0
    assert max((plain[k] - cached[k]).abs().max().item() for k in plain) <= 1e-5


@on_every_device
def test_replay_reproduces_dropout_masks(tiny_decoder, triplet_file, tmp_path, device):
    """With dropout on, the replayed forward equals the cached one: the RNG state is restored
    (on a GPU that is the GPU's generator, which dropout there draws from)."""
    cfg = tiny_config(tmp_path, tiny_decoder, "r", max_steps=1, lora_dropout=0.5, device=device)
    trainer = Trainer(cfg, read_triplets(triplet_file))
    trainer.setup()
    emb = trainer.embedder
    with torch.no_grad():  # LoRA B starts at zero, which would hide dropout entirely
        for name, p in emb.named_parameters():
            if "lora_B" in name:
                p.normal_()
    emb.train()
    ids = trainer.data.anchors[:8]
    cached, plan = gradcache.embed_without_graph(emb, ids, 3)
    again = torch.empty_like(cached)
    for rows, state in plan:
        gradcache.set_rng_state(emb.device, state)
        again[rows] = emb(emb.collate([ids[i] for i in rows])).detach()
    assert torch.allclose(again, cached, atol=1e-6)
    torch.manual_seed(0)
    rows = plan[0][0]
    different = emb(emb.collate([ids[i] for i in rows])).detach()
    assert not torch.allclose(different, cached[rows], atol=1e-4)  # dropout really is on
