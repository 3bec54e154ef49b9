"""Regional compilation (models/compiling.py): compiled layers give the plain model's
embeddings and gradients, in padded and packed batches, with a LoRA adapter on, and the
layer stack is found in decoders and encoders."""

import pytest
import torch
from torch import nn

from embedtune.data.triplets import read_triplets
from embedtune.errors import ConfigError
from embedtune.models import Embedder
from embedtune.models.compiling import compile_layers, layer_stack
from embedtune.models.lora import apply_lora
from embedtune.training.trainer import Trainer
from tests.conftest import (
    SENTENCES,
    assert_same_embeddings_and_grads,
    build_tiny_decoder,
    embed_with_grad,
    tiny_config,
)


def test_the_layer_stack_is_found_in_decoders_and_encoders(tiny_decoder, tiny_encoder):
    decoder = Embedder.load(tiny_decoder).base_model
    assert layer_stack(decoder) is decoder.layers
    encoder = Embedder.load(tiny_encoder).base_model
    assert layer_stack(encoder) is encoder.encoder.layer
    with pytest.raises(ConfigError, match="compile"):
        layer_stack(nn.Sequential(nn.Linear(2, 2)))


@pytest.mark.parametrize("packed", [False, True])
def test_compiled_layers_give_the_plain_embeddings_and_gradients(tmp_path, packed):
    """Gemma 3 with sliding-window and global layers alternating (the compiled graph is shared
    between layers, so a layer type it wrongly ignored would show), LoRA on q/v, fp32: the
    only difference is inductor's summation order, within 1e-5 (of each gradient's largest
    entry)."""
    folder = build_tiny_decoder(
        tmp_path / "gemma3",
        arch="Gemma3Text",
        layers=4,
        layer_types=["sliding_attention", "full_attention"] * 2,
        sliding_window=4,
        head_dim=8,
    )
    results = []
    for compiled in (False, True):
        emb = Embedder.load(folder, attn_implementation="eager")
        torch.manual_seed(0)
        apply_lora(emb, r=4, alpha=8, dropout=0.0)
        for p in emb.parameters():  # LoRA's B starts at zero: give it weights that matter
            if p.requires_grad:
                nn.init.normal_(p, std=0.1)
        emb.pack_texts(12 if packed else None)
        if compiled:
            assert compile_layers(emb.base_model) == 4
        ids = emb.token_ids(SENTENCES[:6] + ["a cat", "dogs"])
        results.append(embed_with_grad(emb, ids))
        results.append(embed_with_grad(emb, ids[2:]))  # another shape: no wrong reuse
    for plain, compiled in zip(results[:2], results[2:]):
        assert_same_embeddings_and_grads(plain, compiled, tol=1e-5)


def test_a_run_compiles_its_layers_after_lora_and_saves_plain_weights(
    tiny_decoder, triplet_file, tmp_path
):
    """``compile: true`` compiles the layers once LoRA sits inside them; compiling is lazy
    (nothing runs here) and leaves the weights' names, so checkpoints and exports load."""
    trainer = Trainer(
        tiny_config(tmp_path, tiny_decoder, compile=True), read_triplets(triplet_file)
    )
    trainer.setup()
    layers = trainer.embedder.base_model.layers
    assert all(layer._compiled_call_impl is not None for layer in layers)
    assert any("lora_A" in n for n, _ in layers[0].named_parameters())
    assert not any("_orig_mod" in k for k in trainer.embedder.state_dict())


def test_compiling_on_cpu_without_a_cxx_compiler_is_refused_before_any_work(
    tiny_decoder, monkeypatch
):
    monkeypatch.setenv("CXX", "")
    monkeypatch.setattr("shutil.which", lambda name: None)
    emb = Embedder.load(tiny_decoder)
    with pytest.raises(ConfigError, match=r"`compile`: .*C\+\+ compiler.*--no-compile"):
        compile_layers(emb.base_model)
    assert all(layer._compiled_call_impl is None for layer in emb.base_model.layers)


def test_a_run_without_a_cxx_compiler_stops_before_any_work(
    tiny_decoder, triplet_file, tmp_path, monkeypatch
):
    monkeypatch.setenv("CXX", "")
    monkeypatch.setattr("shutil.which", lambda name: None)
    cfg = tiny_config(tmp_path, tiny_decoder, compile=True)
    trainer = Trainer(cfg, read_triplets(triplet_file))
    with pytest.raises(ConfigError, match="C\\+\\+ compiler"):
        trainer.setup()
