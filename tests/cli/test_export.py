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


def _without_pad_token(folder):
    """A decoder whose tokenizer has no pad token, as Llama, Mistral and Phi ship."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    tok.pad_token = None
    tok.save_pretrained(folder)
    assert AutoTokenizer.from_pretrained(folder).pad_token is None
    return folder


def test_a_decoder_without_a_pad_token_exports_and_pads_a_batch(
    tiny_decoder, triplet_file, tmp_path
):
    run = _trained(_without_pad_token(tiny_decoder), triplet_file, tmp_path)
    out = tmp_path / "exported"
    assert main(["export", str(run), "--output", str(out)]) == 0
    texts = _texts(20)  # different lengths: sentence-transformers must pad
    ours = Embedder.load(run / "final").encode(texts)
    theirs = st.SentenceTransformer(str(out), device="cpu").encode(texts, batch_size=20)
    cos = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cos.min() >= 0.9999
    assert main(["check", "--model", str(run)]) == 0  # its export check pads a batch too


def test_export_card_names_the_data_read_and_brings_the_curve(tiny_decoder, tmp_path):
    """The quickstart passes its triplets in directly: the card must name that file, not
    the config's default `data`, and the learning curve it links must be in the folder."""
    from embedtune.data.demo import demo_sts, demo_triplets

    cfg = tiny_config(tmp_path, tiny_decoder, max_steps=2, eval_every=1, max_length=48)
    Trainer(cfg, demo_triplets().sample(64, seed=0), dev=demo_sts()).train()
    out = tmp_path / "exported"
    assert main(["export", str(tmp_path / "run"), "--output", str(out), "--dtype", "bf16"]) == 0
    card = (out / "README.md").read_text()
    assert "demo" in card and "nli/triplets.tsv" not in card
    assert "learning_curve.png" in card and (out / "learning_curve.png").is_file()
    from safetensors import safe_open

    with safe_open(str(out / "model.safetensors"), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {__import__("torch").bfloat16}


def test_abbreviated_flags_are_refused(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--max-step", "3"])
    assert "unrecognized arguments: --max-step" in capsys.readouterr().err


def test_query_and_document_prompts_reach_encode_query_and_encode_document(tiny_encoder, tmp_path):
    prompts = {"query_prompt": "query: {}", "document_prompt": "passage: {}"}
    Embedder.load(tiny_encoder, **prompts).save(tmp_path / "m")
    out = tmp_path / "st"
    assert main(["export", str(tmp_path / "m"), "--output", str(out)]) == 0
    texts = _texts(12)
    ours = Embedder.load(tmp_path / "m")
    model = st.SentenceTransformer(str(out), device="cpu")
    for role, theirs in (
        ("query", model.encode_query(texts)),
        ("document", model.encode_document(texts)),
    ):
        mine = ours.encode(texts, role=role)
        assert np.abs(mine - theirs).max() <= 1e-5
        assert np.abs(mine - ours.encode(texts)).max() > 1e-3  # the prompt made a difference
    card = (out / "README.md").read_text()
    assert "query prompt: `query: {}`" in card and "document prompt: `passage: {}`" in card


def test_a_matryoshka_model_exports_with_its_sizes_and_a_truncate_dim(
    tiny_encoder, triplet_file, tmp_path
):
    run = _trained(tiny_encoder, triplet_file, tmp_path, lora=False, matryoshka_dims=[32, 16, 8])
    out = tmp_path / "st"
    assert main(["export", str(run), "--output", str(out), "--truncate-dim", "16"]) == 0
    texts = _texts(12)
    theirs = st.SentenceTransformer(str(out), device="cpu").encode(texts)
    ours = Embedder.load(run / "final").encode(texts)[:, :16]
    cos = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    assert theirs.shape == (12, 16) and cos.min() >= 0.9999
    assert Embedder.load(out).config.matryoshka_dims == [32, 16, 8]
    assert "Matryoshka-trained sizes: [32, 16, 8]" in (out / "README.md").read_text()
    assert main(["export", str(run), "--output", str(tmp_path / "x"), "--truncate-dim", "64"]) == 2


def test_a_bidirectional_gemma3_exports_and_sentence_transformers_stays_bidirectional(
    triplet_file, tmp_path
):
    """Gemma reads `use_bidirectional_attention` from its config.json, so sentence-transformers
    loads the export without the causal mask: the same embeddings, padded or alone."""
    from tests.conftest import build_tiny_decoder

    base = build_tiny_decoder(tmp_path / "gemma3", arch="Gemma3Text", head_dim=8)
    run = _trained(base, triplet_file, tmp_path, attention="bidirectional", pooling="mean")
    out = tmp_path / "exported"
    assert main(["export", str(run), "--output", str(out)]) == 0
    texts = _texts(20)
    ours = Embedder.load(run / "final").encode(texts)
    model = st.SentenceTransformer(str(out), device="cpu")
    for batch in (16, 1):  # batch 1: no padding mask at all
        theirs = model.encode(texts, batch_size=batch)
        cos = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
        assert cos.min() >= 0.9999
    causal = Embedder.load(base, pooling="mean").encode(texts)
    assert np.abs(Embedder.load(out).encode(texts) - ours).max() <= 1e-5
    assert np.abs(causal - ours).max() > 1e-3


def test_a_bidirectional_llama_export_is_checked_without_padding(
    triplet_file, tmp_path, tiny_decoder
):
    """Llama's attention keeps a causal flag of its own that SDPA falls back on when a batch
    has no padding: the export (config.json's is_causal false) must load bidirectional in
    sentence-transformers even for one text alone (the export's own check covers this too)."""
    run = _trained(tiny_decoder, triplet_file, tmp_path, attention="bidirectional", pooling="mean")
    out = tmp_path / "exported"
    assert main(["export", str(run), "--output", str(out)]) == 0
    texts = _texts(10)
    ours = Embedder.load(run / "final").encode(texts)
    theirs = st.SentenceTransformer(str(out), device="cpu").encode(texts, batch_size=1)
    cos = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cos.min() >= 0.9999


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_a_rotated_model_exports_its_rotation_as_a_dense_layer(dtype, tiny_decoder, tmp_path):
    from embedtune.models.rotation import fit_rotation

    emb = Embedder.load(tiny_decoder)
    texts = _texts()
    emb.rotate(fit_rotation(emb.encode(texts)), "50 test texts")
    emb.save(tmp_path / "m")
    out = tmp_path / "st"
    args = ["export", str(tmp_path / "m"), "--output", str(out), "--dtype", dtype]
    assert main([*args, "--truncate-dim", "8"]) == 0
    theirs = st.SentenceTransformer(str(out), device="cpu").encode(texts)
    ours = emb.encode(texts)[:, :8]  # the prefix of the rotated vectors, not of the plain ones
    cos = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    assert theirs.shape == (50, 8) and cos.min() >= (0.9999 if dtype == "fp32" else 0.99)
    assert Embedder.load(out).config.rotation == "50 test texts"
    assert (
        "rotated so the first dimensions carry the most variance" in (out / "README.md").read_text()
    )
