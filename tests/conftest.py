"""Tiny random models, built here, so unit tests run in seconds and offline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# scripts that torchrun starts, not test modules: --doctest-modules must not import them
collect_ignore = ["training/dist_worker.py"]

WORDS = (
    "a an the man woman child dog cat bird horse people group player chef girl boy "
    "is are was be being plays playing runs running walks walking sits sitting eats eating "
    "rides riding cooks cooking sleeps sleeping reads reading swims swimming sings singing "
    "on in at with near under over into by of to and or not no "
    "guitar piano ball park street kitchen beach field table book river road car bike horse "
    "red blue green big small old young happy sad fast slow outside inside quietly loudly "
    "someone something nobody everyone two three several some food music water sun rain"
).split()


def _tokenizer(template: str, specials: dict[str, str]):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(list(specials.values()) + sorted(set(WORDS)))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=specials["unk_token"]))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=[(t, vocab[t]) for t in specials.values() if t in template]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, **specials), len(vocab)


def build_tiny_decoder(path: Path, arch: str = "Llama", layers: int = 2, **extra) -> Path:
    """A decoder of ``layers`` layers (``arch``: Llama, Phi, Gemma, ...) whose tokenizer adds
    BOS but never EOS (like Gemma and Llama)."""
    import torch
    import transformers

    tokenizer, vocab = _tokenizer(
        "<s> $A",
        {"pad_token": "<pad>", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
    )
    torch.manual_seed(0)
    config = getattr(transformers, f"{arch}Config")(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **extra,
    )
    lm = {"Gemma3Text": "Gemma3ForCausalLM"}.get(arch, f"{arch}ForCausalLM")
    getattr(transformers, lm)(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def build_tiny_encoder(path: Path) -> Path:
    """A 2-layer BERT with [CLS] ... [SEP] framing."""
    import torch
    from transformers import BertConfig, BertModel

    tokenizer, vocab = _tokenizer(
        "[CLS] $A [SEP]",
        {
            "pad_token": "[PAD]",
            "cls_token": "[CLS]",
            "sep_token": "[SEP]",
            "unk_token": "[UNK]",
            "mask_token": "[MASK]",
        },
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=vocab,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
    )
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _devices() -> list[str]:
    import torch

    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


# tests of device-dependent code (placement, RNG replay, resume) run on every device the
# machine has: CPU in CI, CPU and GPU on a GPU machine
on_every_device = pytest.mark.parametrize("device", _devices())


@pytest.fixture(scope="session")
def _tiny_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return {
        "decoder": build_tiny_decoder(root / "decoder"),
        "encoder": build_tiny_encoder(root / "encoder"),
    }


@pytest.fixture
def tiny_decoder(_tiny_models, tmp_path) -> Path:
    """A private copy of the tiny decoder folder (tests may write into it)."""
    return Path(shutil.copytree(_tiny_models["decoder"], tmp_path / "decoder"))


@pytest.fixture(scope="session")
def tiny_gemma3(tmp_path_factory):
    """A 2-layer Gemma 3 text model, one sliding-window layer (window 4) and one global."""
    return build_tiny_decoder(
        tmp_path_factory.mktemp("gemma3") / "m",
        arch="Gemma3Text",
        layer_types=["sliding_attention", "full_attention"],
        sliding_window=4,
        head_dim=8,
    )


@pytest.fixture
def tiny_encoder(_tiny_models, tmp_path) -> Path:
    return Path(shutil.copytree(_tiny_models["encoder"], tmp_path / "encoder"))


SENTENCES = [
    "a man is playing a guitar",
    "a woman is cooking in the kitchen",
    "two dogs run in the park",
    "the child reads a book",
    "someone rides a bike on the road",
    "a cat sleeps",
    "people sing loudly near the river",
    "a small bird sits on the table",
]


@pytest.fixture
def triplet_file(tmp_path) -> Path:
    """A small valid triplet TSV in the shared data layout."""
    rows = [
        ("a man is playing a guitar", "a man plays music", "a man is sleeping"),
        ("a woman is cooking in the kitchen", "a woman cooks food", "a woman is swimming"),
        ("two dogs run in the park", "dogs are running outside", "two dogs sleep inside"),
        ("the child reads a book", "a child is reading", "the child is singing"),
        ("someone rides a bike on the road", "a person is riding", "nobody is riding"),
        ("a cat sleeps on the table", "a cat is sleeping", "a cat is running"),
        ("people sing loudly near the river", "a group is singing", "people sit quietly"),
        ("a small bird sits on the car", "a bird is sitting", "a big dog runs"),
    ] * 4
    path = tmp_path / "triplets.tsv"
    path.write_text(
        "anchor\tpositive\tnegative\tsource\n"
        + "".join(f"{a}\t{p}\t{n}\ttest\n" for a, p, n in rows)
    )
    return path


def tiny_config(tmp_path, model, name="run", **kw):
    """A fast training config for the tiny models (fp32, no evaluation, 8 steps)."""
    from embedtune.config import TrainConfig

    base = dict(
        model=str(model),
        output_dir=str(tmp_path / name),
        batch_size=8,
        lr=5e-3,
        warmup_steps=2,
        max_steps=8,
        log_every=1,
        eval_every=0,
        eval_tasks="",
        dtype="fp32",
        seed=3,
        max_length=16,
        device="cpu",  # tests that mean a GPU ask for one (``devices``)
    )
    base.update(kw)
    return TrainConfig(**base)


def embed_with_grad(emb, ids):
    """Embeddings of token ``ids`` and the gradients of a loss touching every row and
    dimension: what a fast path (packed rows, compiled layers) must leave unchanged."""
    import torch

    emb.zero_grad(set_to_none=True)
    out = emb(emb.collate(ids))
    (out * torch.linspace(-1, 1, out.shape[1])).sum().backward()
    grads = {n: p.grad.clone() for n, p in emb.named_parameters() if p.grad is not None}
    return out.detach(), grads


def assert_same_embeddings_and_grads(expected, actual, tol: float = 1e-5) -> None:
    """Two ``embed_with_grad`` results agree within ``tol`` (gradients: of each one's largest
    entry, or absolute below 1)."""
    (out, grads), (other, other_grads) = expected, actual
    assert (other - out).abs().max() <= tol
    assert grads.keys() == other_grads.keys() and len(grads) > 0
    for k in grads:
        scale = max(1.0, grads[k].abs().max().item())
        assert (grads[k] - other_grads[k]).abs().max() <= tol * scale, k


@pytest.fixture(autouse=True)
def _private_corpus_cache(tmp_path_factory, monkeypatch):
    """Tests never write corpus embeddings into the user's cache: $EMBEDTUNE_CACHE points at
    a folder of the test session whose models/ is the real models cache (the named models
    are converted once, not per test)."""
    import os

    from embedtune.paths import cache_dir

    models = cache_dir("models")
    root = tmp_path_factory.getbasetemp() / "embedtune-cache"
    if not root.exists():
        root.mkdir()
        models.mkdir(parents=True, exist_ok=True)
        (root / "models").symlink_to(models, target_is_directory=True)
    if os.environ.get("EMBEDTUNE_CACHE") != str(root):
        monkeypatch.setenv("EMBEDTUNE_CACHE", str(root))
