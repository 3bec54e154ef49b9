import pytest
import torch
from torch import nn

from embedtune.models import Embedder
from embedtune.models.dropout import FastDropout
from embedtune.models.lora import apply_lora


def test_drops_p_of_the_elements_and_keeps_the_expectation():
    torch.manual_seed(0)
    drop = FastDropout(0.1).train()
    y = drop(torch.ones(1000, 1000))
    dropped = (y == 0).float().mean().item()
    assert abs(dropped - 0.1) < 2e-3
    assert abs(y.mean().item() - 1.0) < 3e-3
    assert torch.allclose(y[y != 0], torch.full_like(y[y != 0], 1 / 0.9), rtol=1e-4)


def test_identity_in_eval_and_at_zero():
    x = torch.randn(7, 5)
    assert FastDropout(0.3).eval()(x) is x
    assert FastDropout(0.0).train()(x) is x
    with pytest.raises(ValueError, match="in \\[0, 1\\)"):
        FastDropout(1.0)


def test_same_rng_state_same_mask_and_gradient_through_kept_elements():
    drop = FastDropout(0.5).train()
    x = torch.randn(33, 17, requires_grad=True)  # numel not a multiple of 4
    state = torch.get_rng_state()
    y1 = drop(x)
    torch.set_rng_state(state)
    y2 = drop(x)
    assert torch.equal(y1, y2)
    y1.sum().backward()
    assert torch.equal(x.grad, (y1 != 0).float() * drop.scale)


def test_apply_lora_swaps_in_fast_dropout_and_skips_the_input_cast(tiny_decoder):
    emb = Embedder.load(tiny_decoder, dtype="fp32")
    apply_lora(emb, dropout=0.1)
    from peft.tuners.lora import LoraLayer

    layers = [m for m in emb.backbone.modules() if isinstance(m, LoraLayer)]
    assert layers
    for layer in layers:
        assert not layer.cast_input_dtype_enabled
        assert all(isinstance(d, FastDropout) for d in layer.lora_dropout.values())


def test_skipping_the_input_cast_changes_no_bf16_embedding(tiny_decoder):
    from peft.tuners.lora import LoraLayer

    from tests.conftest import SENTENCES

    torch.manual_seed(0)
    emb = Embedder.load(tiny_decoder, dtype="bf16")
    apply_lora(emb, dropout=0.1)
    layers = [m for m in emb.backbone.modules() if isinstance(m, LoraLayer)]
    for layer in layers:  # LoRA B starts at zero: give the adapter something to add
        for b in layer.lora_B.values():
            nn.init.normal_(b.weight, std=0.5)
    batch = emb.collate(emb.token_ids(SENTENCES))
    emb.eval()
    with torch.no_grad():
        fast = emb(batch)
        for layer in layers:
            layer.cast_input_dtype_enabled = True
        peft_default = emb(batch)
    assert torch.equal(fast, peft_default)
