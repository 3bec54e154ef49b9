"""Bidirectional attention for decoders (models/attention.py): the mask is really lifted, for
Llama and Gemma 3 (sliding-window layers included), under eager and SDPA kernels; padding
still cannot leak into a text's embedding; the setting travels with a saved model."""

import numpy as np
import pytest
import torch

from embedtune.errors import ConfigError
from embedtune.models import Embedder
from embedtune.models.attention import sees_future
from tests.conftest import SENTENCES


def _first_token_depends_on_last(emb: Embedder) -> bool:
    return sees_future(emb.backbone)


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("which", ["llama", "gemma3"])
def test_a_decoder_becomes_bidirectional(tiny_decoder, tiny_gemma3, which, attn):
    """Llama through config.is_causal; Gemma 3 (a sliding-window layer and a global one)
    through use_bidirectional_attention too."""
    folder = tiny_decoder if which == "llama" else tiny_gemma3
    causal = Embedder.load(folder, attn_implementation=attn)
    both = Embedder.load(folder, attn_implementation=attn, attention="bidirectional")
    assert not _first_token_depends_on_last(causal)
    assert _first_token_depends_on_last(both)
    # a text's embedding changes: every token now sees the whole text
    a, b = causal.encode(SENTENCES[:2]), both.encode(SENTENCES[:2])
    assert np.abs(a - b).max() > 1e-3
    if which == "gemma3":
        assert both.backbone.config.use_bidirectional_attention is True


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("which", ["llama", "gemma3"])
def test_padding_does_not_leak(tiny_decoder, tiny_gemma3, which, attn, side):
    """Each text embedded alone (no padding) equals the same text in a padded batch with
    texts of other lengths, on either padding side: the padding mask is kept."""
    folder = tiny_decoder if which == "llama" else tiny_gemma3
    emb = Embedder.load(folder, attn_implementation=attn, attention="bidirectional", pooling="mean")
    emb.config.padding_side = side
    texts = SENTENCES[:5] + ["a cat"]
    batched = emb.encode(texts, batch_size=len(texts))
    alone = np.stack([emb.encode([t])[0] for t in texts])
    assert np.abs(batched - alone).max() <= 1e-5


def test_the_setting_is_saved_with_the_model(tiny_decoder, tmp_path):
    emb = Embedder.load(tiny_decoder, attention="bidirectional")
    emb.save(tmp_path / "saved")
    again = Embedder.load(tmp_path / "saved")
    assert again.config.attention == "bidirectional"
    assert _first_token_depends_on_last(again)
    assert np.abs(emb.encode(SENTENCES) - again.encode(SENTENCES)).max() <= 1e-6


def test_an_encoder_is_unchanged(tiny_encoder):
    plain = Embedder.load(tiny_encoder).encode(SENTENCES)
    both = Embedder.load(tiny_encoder, attention="bidirectional").encode(SENTENCES)
    assert np.abs(plain - both).max() <= 1e-6


def test_an_architecture_that_stays_causal_is_refused(tiny_decoder, monkeypatch):
    """Modelling code that ignores the switches would silently stay causal: refused."""
    monkeypatch.setattr("embedtune.models.attention.sees_future", lambda backbone: False)
    with pytest.raises(ConfigError, match="stays causal"):
        Embedder.load(tiny_decoder, attention="bidirectional")


def test_an_unknown_mode_names_the_key(tiny_decoder):
    with pytest.raises(ConfigError, match="`attention`"):
        Embedder.load(tiny_decoder, attention="sideways")


def test_training_keeps_the_mask_lifted(tiny_decoder, triplet_file, tmp_path):
    """A LoRA run with attention bidirectional: gradients flow, the trained model is saved
    with the setting and reloads non-causal."""
    from embedtune.data.triplets import read_triplets
    from embedtune.training.trainer import Trainer
    from tests.conftest import tiny_config

    cfg = tiny_config(tmp_path, tiny_decoder, attention="bidirectional", max_steps=2)
    Trainer(cfg, read_triplets(triplet_file)).train()
    again = Embedder.load(tmp_path / "run")
    assert again.config.attention == "bidirectional"
    assert _first_token_depends_on_last(again)
    assert torch.isfinite(torch.from_numpy(again.encode(SENTENCES))).all()
