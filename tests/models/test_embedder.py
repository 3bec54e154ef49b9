import numpy as np
import pytest

from embedtune.errors import ConfigError, EmbedtuneError
from embedtune.models import Embedder
from tests.conftest import SENTENCES


def test_encode_keeps_input_order_and_normalises(tiny_decoder):
    emb = Embedder.load(tiny_decoder)
    out = emb.encode(SENTENCES, batch_size=3)
    assert out.shape == (len(SENTENCES), emb.dim) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    one_by_one = np.stack([emb.encode([s])[0] for s in SENTENCES])
    assert np.abs(out - one_by_one).max() <= 1e-5


def test_a_token_bound_changes_the_passes_not_the_embeddings(tiny_decoder):
    emb = Embedder.load(tiny_decoder)
    lengths = [len(x) for x in emb.token_ids(SENTENCES)]
    bound = max(lengths) + 1  # the longest text alone, shorter ones a few at a time
    bounded = emb.encode(SENTENCES, batch_size=8, batch_tokens=bound)
    emb.batch_tokens = None
    assert np.abs(bounded - emb.encode(SENTENCES, batch_size=8)).max() <= 1e-5
    with pytest.raises(ConfigError, match="batch_tokens"):
        emb.encode(SENTENCES, batch_tokens=0)


def test_the_token_bound_is_1024_on_cpu_unless_set(tiny_decoder):
    from embedtune.models.embedder import DEFAULT_BATCH_TOKENS

    assert Embedder.load(tiny_decoder).batch_tokens == DEFAULT_BATCH_TOKENS == 1024
    assert Embedder.load(tiny_decoder, batch_tokens=64).batch_tokens == 64


def test_prompt_changes_the_input(tiny_decoder):
    plain = Embedder.load(tiny_decoder)
    prompted = Embedder.load(tiny_decoder, prompt="the {} is")
    assert prompted.token_ids(["cat"])[0] != plain.token_ids(["cat"])[0]
    with pytest.raises(ConfigError, match="prompt"):
        Embedder.load(tiny_decoder, prompt="no placeholder")


def test_save_and_load_keep_pooling_settings(tiny_decoder, tmp_path):
    emb = Embedder.load(tiny_decoder, pooling="weighted_mean", prompt="{} !")
    emb.save(tmp_path / "saved")
    again = Embedder.load(tmp_path / "saved")
    assert again.config.pooling == "weighted_mean" and again.config.prompt == "{} !"
    assert np.abs(emb.encode(SENTENCES) - again.encode(SENTENCES)).max() <= 1e-6


def test_bf16_agrees_with_fp32(tiny_decoder):
    a = Embedder.load(tiny_decoder, dtype="fp32").encode(SENTENCES)
    b = Embedder.load(tiny_decoder, dtype="bf16").encode(SENTENCES)
    assert (a * b).sum(1).min() > 0.99


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(EmbedtuneError, match="does not exist"):
        Embedder.load(str(tmp_path / "nope"))


def test_unknown_option_is_rejected(tiny_decoder):
    with pytest.raises(ConfigError, match="unknown Embedder option"):
        Embedder.load(tiny_decoder, poolin="mean")


def test_encode_rejects_a_single_string(tiny_decoder):
    with pytest.raises(TypeError):
        Embedder.load(tiny_decoder).encode("one text")


def test_a_suffix_prompt_survives_truncation(tiny_decoder):
    """PromptEOL-style templates end with text after the {}: truncation cuts the text inside
    the template, so a long text still ends with the prompt's suffix (and the EOS)."""
    emb = Embedder.load(tiny_decoder, prompt="the {} is a cat", max_length=10)
    suffix = emb.tokenizer("is a cat", add_special_tokens=False)["input_ids"]
    long_text = "a man is playing a guitar on the street with the dog and the bird"
    ids = emb.token_ids([long_text, "a dog"])
    assert len(ids[0]) == 10
    assert ids[0][-4:-1] == suffix and ids[0][-1] == emb.tokenizer.eos_token_id
    # the text kept is the start of the text, and short texts are untouched
    start = emb.tokenizer("the a man is", add_special_tokens=True)["input_ids"]
    assert ids[0][: len(start)] == start
    assert ids[1] == emb.tokenizer("the a dog is a cat")["input_ids"] + [emb.tokenizer.eos_token_id]
    # a prompt without a suffix truncates as before, EOS last
    plain = Embedder.load(tiny_decoder, prompt="the {}", max_length=6).token_ids([long_text])[0]
    assert len(plain) == 6 and plain[-1] == emb.tokenizer.eos_token_id


def test_no_kv_cache_is_built_when_embedding(tiny_decoder, tiny_encoder):
    """An embedder never decodes on: a cache would copy every layer's keys and values (and
    recompile compiled layers on each pass)."""
    for folder in (tiny_decoder, tiny_encoder):
        emb = Embedder.load(folder)
        seen = []
        emb.base_model.register_forward_hook(
            lambda m, args, kwargs, out, seen=seen: seen.append(
                (kwargs.get("use_cache"), getattr(out, "past_key_values", None))
            ),
            with_kwargs=True,
        )
        emb.encode(["a cat sits", "a dog runs fast"])
        assert seen == [(False, None)], folder
