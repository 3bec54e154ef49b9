"""Sequence packing (models/packing.py): packed rows give the padded batch's embeddings and
gradients (Llama, and Gemma 3 with a sliding window shorter than a row), every text reads
back its own tokens, and models that would let packed texts see each other are refused."""

import pytest

from embedtune.data.triplets import read_triplets
from embedtune.errors import ConfigError
from embedtune.models import Embedder, packing
from embedtune.models import embedder as embedder_module
from embedtune.models.packing import first_fit, pack
from embedtune.training.trainer import Trainer
from tests.conftest import (
    SENTENCES,
    assert_same_embeddings_and_grads,
    embed_with_grad,
    tiny_config,
)


def test_rows_hold_each_text_once_within_the_row_size():
    ids = [[1] * 5, [2] * 3, [3] * 4, [4] * 2, [5] * 9]
    rows = first_fit([len(x) for x in ids], 8)
    assert sorted(i for row in rows for i in row) == [0, 1, 2, 3, 4]
    # rows hold up to 8 tokens, or the longest text's 9 (the tensor is that wide anyway)
    assert max(sum(len(ids[i]) for i in row) for row in rows) == 9 and len(rows) == 3
    batch = pack(ids, 8, pad_id=0)
    assert batch["input_ids"].shape == (len(rows), 9)
    flat = batch["input_ids"].flatten()
    for i, x in enumerate(ids):
        mask = batch["text_mask"][i].bool()
        assert flat[batch["text_index"][i][mask]].tolist() == x
        assert batch["position_ids"].flatten()[batch["text_index"][i][mask]].tolist() == list(
            range(len(x))
        )


@pytest.mark.parametrize("pooling", ["last_token", "mean"])
@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("which", ["llama", "gemma3"])
def test_packed_rows_give_the_padded_embeddings_and_gradients(
    tiny_decoder, tiny_gemma3, which, attn, pooling
):
    """fp32, so the only difference is summation order: within 1e-5 (of the largest entry,
    for gradients). Rows of 12 tokens hold
    several texts; Gemma 3's 4-token sliding window must count from each text's start."""
    folder = tiny_decoder if which == "llama" else tiny_gemma3
    emb = Embedder.load(folder, attn_implementation=attn, pooling=pooling)
    ids = emb.token_ids(SENTENCES[:6] + ["a cat", "dogs"])
    padded = embed_with_grad(emb, ids)
    emb.pack_texts(12)
    packed = embed_with_grad(emb, ids)
    assert emb.collate(ids)["input_ids"].shape[0] < len(ids)  # texts really share rows
    assert_same_embeddings_and_grads(padded, packed, tol=1e-5)


def test_encoders_and_bidirectional_decoders_are_refused(tiny_encoder, tiny_decoder):
    """Neither builds its mask from position_ids: packed texts would attend to each other."""
    for emb in (
        Embedder.load(tiny_encoder),
        Embedder.load(tiny_decoder, attention="bidirectional"),
    ):
        with pytest.raises(ConfigError, match="pack_tokens"):
            emb.pack_texts(64)
        assert emb.pack_tokens is None


def test_a_packed_training_step_equals_a_padded_one(tiny_decoder, triplet_file, tmp_path):
    def step(name, **kw):
        cfg = tiny_config(tmp_path, tiny_decoder, name, max_steps=1, lora_dropout=0.0, **kw)
        trainer = Trainer(cfg, read_triplets(triplet_file))
        trainer.setup()
        loss, _ = trainer.micro_batch_backward(list(range(8)), 1.0)
        grads = {n: p.grad for n, p in trainer.embedder.named_parameters() if p.grad is not None}
        return loss, grads, trainer.embedder.pack_tokens

    loss, grads, none = step("padded", pack_tokens=0)  # 0: off (a recipe's packing undone)
    packed_loss, packed_grads, row = step("packed", pack_tokens=32)
    assert none is None and row == 32
    assert packed_loss == pytest.approx(loss, abs=1e-6)
    assert max((grads[k] - packed_grads[k]).abs().max().item() for k in grads) <= 1e-5


def test_a_run_that_would_leak_stops_before_training(tiny_encoder, triplet_file, tmp_path):
    cfg = tiny_config(tmp_path, tiny_encoder, "enc", lora=False, pack_tokens=64)
    with pytest.raises(ConfigError, match="pack_tokens"):
        Trainer(cfg, read_triplets(triplet_file)).setup()


def test_a_negative_row_size_is_refused_naming_the_key(tmp_path, tiny_decoder):
    with pytest.raises(ConfigError, match=r"`pack_tokens` must be >= 0 \(0: off\), got -1"):
        tiny_config(tmp_path, tiny_decoder, pack_tokens=-1)


def test_packed_encoding_gives_the_padded_embeddings(tiny_gemma3, monkeypatch):
    """``Embedder.load(pack_tokens=...)`` (``--pack-tokens``): passes bounded by real tokens,
    each packed only where padding it would cost more (models/packing.py, ``pays_to_pack``).
    Texts of mixed lengths in passes of 3 give both kinds of pass; fp32, within 1e-5."""
    texts = SENTENCES + ["a cat", "dogs", "a much longer sentence about a cat " * 3]
    padded = Embedder.load(tiny_gemma3).encode(texts, batch_size=3)
    emb = Embedder.load(tiny_gemma3, pack_tokens=24)
    assert emb.pack_tokens == 24
    choices = []
    real = packing.pays_to_pack
    monkeypatch.setattr(
        embedder_module, "pays_to_pack", lambda n: choices.append(real(n)) or real(n)
    )
    packed = emb.encode(texts, batch_size=3)
    assert True in choices and False in choices  # both kinds of pass ran
    assert abs(packed - padded).max() <= 1e-5


def test_pack_tokens_at_load_is_checked(tiny_encoder, tiny_decoder):
    with pytest.raises(ConfigError, match="pack_tokens"):
        Embedder.load(tiny_encoder, pack_tokens=64)
    with pytest.raises(ConfigError, match=r"`pack_tokens` must be >= 0"):
        Embedder.load(tiny_decoder, pack_tokens=-5)
    assert Embedder.load(tiny_decoder, pack_tokens=0).pack_tokens is None
