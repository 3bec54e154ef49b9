import pytest
import torch

from embedtune.models import Embedder
from embedtune.models.pooling import POOLING_MODES, pool
from tests.conftest import SENTENCES


def test_pool_modes_by_hand():
    h = torch.arange(12.0).view(1, 4, 3)  # (B=1, L=4, D=3)
    right = torch.tensor([[1, 1, 1, 0]])
    assert torch.equal(pool(h, right, "last_token"), h[:, 2])
    assert torch.equal(pool(h, right, "cls"), h[:, 0])
    assert torch.allclose(pool(h, right, "mean"), h[0, :3].mean(0, keepdim=True))
    w = torch.tensor([1.0, 2.0, 3.0])
    assert torch.allclose(
        pool(h, right, "weighted_mean"), (h[0, :3] * w[:, None]).sum(0, keepdim=True) / 6
    )


def test_pool_left_padding_matches_right_padding_by_hand():
    h = torch.randn(1, 3, 5)
    left = torch.cat([torch.zeros(1, 2, 5), h], dim=1)  # two pads in front
    for mode in POOLING_MODES:
        a = pool(h, torch.ones(1, 3, dtype=torch.long), mode)
        b = pool(left, torch.tensor([[0, 0, 1, 1, 1]]), mode)
        assert torch.allclose(a, b), mode


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="unknown pooling"):
        pool(torch.zeros(1, 1, 1), torch.ones(1, 1), "max")


@pytest.mark.parametrize("mode", POOLING_MODES)
@pytest.mark.parametrize("model", ["tiny_decoder", "tiny_encoder"])
def test_left_and_right_padding_give_the_same_embeddings(mode, model, request):
    folder = request.getfixturevalue(model)
    left = Embedder.load(folder, pooling=mode, padding_side="left")
    right = Embedder.load(folder, pooling=mode, padding_side="right")
    a = left.encode(SENTENCES, batch_size=8)
    b = right.encode(SENTENCES, batch_size=8)
    assert abs(a - b).max() <= 1e-5


def test_batch_size_does_not_change_embeddings(tiny_decoder):
    emb = Embedder.load(tiny_decoder)
    a = emb.encode(SENTENCES, batch_size=1)
    b = emb.encode(SENTENCES, batch_size=32)
    assert abs(a - b).max() <= 1e-5


def test_last_token_pools_the_appended_eos(tiny_decoder):
    emb = Embedder.load(tiny_decoder)  # a decoder: last_token with EOS appended by default
    assert emb.config.pooling == "last_token" and emb.config.append_eos
    ids = emb.token_ids(SENTENCES[:2])
    eos = emb.tokenizer.eos_token_id
    assert all(x[-1] == eos and x[0] == emb.tokenizer.bos_token_id for x in ids)
    batch = emb.collate(ids)
    with torch.no_grad():
        hidden = emb.backbone(**batch).last_hidden_state
        pooled = emb(batch)
    for row, x in enumerate(ids):
        eos_state = torch.nn.functional.normalize(hidden[row, len(x) - 1], dim=-1)
        assert batch["input_ids"][row, len(x) - 1] == eos
        assert torch.allclose(pooled[row], eos_state, atol=1e-6)


def test_eos_survives_truncation(tiny_decoder):
    emb = Embedder.load(tiny_decoder, max_length=4)
    ids = emb.token_ids(["a man is playing a guitar in the park"])
    assert len(ids[0]) == 4 and ids[0][-1] == emb.tokenizer.eos_token_id


def test_eos_not_appended_twice(tiny_decoder):
    emb = Embedder.load(tiny_decoder)
    ids = emb.token_ids(["a cat </s>"])
    assert ids[0].count(emb.tokenizer.eos_token_id) == 1


def test_encoder_defaults_to_mean_without_eos(tiny_encoder):
    emb = Embedder.load(tiny_encoder)
    assert emb.config.pooling == "mean" and not emb.config.append_eos
