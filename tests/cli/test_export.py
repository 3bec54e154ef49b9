import random

import numpy as np
import pytest

from embedtune.cli import main
from embedtune.data.triplets import read_triplets
from embedtune.models import Embedder
from embedtune.training.trainer import Trainer
from tests.conftest import WORDS, tiny_config

st = pytest.importorskip("sentence_transformers")


def _texts(n=50):
    rng = random.Random(0)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 30))) for _ in range(n)]


def _trained(model, triplet_file, tmp_path, **kw):
    cfg = tiny_config(tmp_path, model, warmup_steps=1, max_steps=3, max_length=48, seed=42, **kw)
    Trainer(cfg, read_triplets(triplet_file)).train()
    return tmp_path / "run"


@pytest.mark.parametrize("model, kw", [("tiny_decoder", {}), ("tiny_encoder", {"lora": False})])
def test_merged_export_matches_embedtune_through_sentence_transformers(
    model, kw, request, triplet_file, tmp_path
):
    run = _trained(request.getfixturevalue(model), triplet_file, tmp_path, **kw)
    out = tmp_path / "exported"
    assert main(["export", str(run), "--output", str(out), "--merge"]) == 0
    texts = _texts()
    ours = Embedder.load(run / "final").encode(texts)
    theirs = st.SentenceTransformer(str(out), device="cpu").encode(texts, batch_size=16)
    cos = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cos.min() >= 0.9999
    again = Embedder.load(out).encode(texts)  # embedtune reads the exported folder too
    assert np.abs(again - ours).max() <= 1e-5
    assert "pooling" in (out / "README.md").read_text()


def test_adapter_export_keeps_the_adapter(tiny_decoder, triplet_file, tmp_path):
    run = _trained(tiny_decoder, triplet_file, tmp_path)
    out = tmp_path / "adapter"
    assert main(["export", str(run), "--output", str(out), "--format", "adapter"]) == 0
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    texts = _texts(10)
    assert (
        np.abs(Embedder.load(out).encode(texts) - Embedder.load(run / "final").encode(texts)).max()
        <= 1e-6
    )


def test_suffix_prompt_cannot_become_a_sentence_transformers_prompt(tiny_decoder, tmp_path):
    Embedder.load(tiny_decoder, prompt='this sentence : "{}" means').save(tmp_path / "m")
    assert main(["export", str(tmp_path / "m"), "--output", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


def test_a_chat_template_does_not_leak_into_the_export(tiny_decoder, tmp_path):
    """sentence-transformers applies a tokenizer's chat template to plain texts; the export
    drops it so both tools embed the same tokens (found on SmolLM2-Instruct)."""
    emb = Embedder.load(tiny_decoder)
    emb.tokenizer.chat_template = "{% for m in messages %}<s> user {{ m['content'] }}{% endfor %}"
    emb.save(tmp_path / "chat")
    assert main(["export", str(tmp_path / "chat"), "--output", str(tmp_path / "st")]) == 0
    texts = _texts(10)
    theirs = st.SentenceTransformer(str(tmp_path / "st"), device="cpu").encode(texts)
    assert ((emb.encode(texts) * theirs).sum(1)).min() >= 0.9999
