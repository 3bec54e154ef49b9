"""`embedtune export --format onnx`: one graph that ONNX Runtime runs with the embeddings
PyTorch gives, on batches and lengths other than the traced one; the folder loads back as an
Embedder for every command."""

import random

import numpy as np
import pytest

from embedtune.cli import main
from embedtune.errors import ConfigError
from embedtune.models import Embedder
from embedtune.models.onnx_embedder import OnnxEmbedder
from tests.conftest import WORDS, build_tiny_decoder

pytest.importorskip("onnxruntime")


def _texts(n=40):
    rng = random.Random(0)  # 1 to 40 words: longer and shorter than the traced batch
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 40))) for _ in range(n)]


def _gemma3(tmp_path):
    return build_tiny_decoder(  # a sliding-window layer (window 4) and a global one
        tmp_path / "gemma3",
        arch="Gemma3Text",
        layer_types=["sliding_attention", "full_attention"],
        sliding_window=4,
        head_dim=8,
    )


@pytest.mark.parametrize(
    "model, overrides",
    [
        ("tiny_decoder", {}),
        ("tiny_decoder", {"padding_side": "left", "prompt": "query: {}"}),
        ("tiny_decoder", {"pooling": "mean", "attention": "bidirectional"}),
        ("tiny_encoder", {}),
        ("gemma3", {}),
    ],
)
def test_onnx_runtime_embeds_as_pytorch(model, overrides, request, tmp_path):
    path = _gemma3(tmp_path) if model == "gemma3" else request.getfixturevalue(model)
    Embedder.load(path, **overrides).save(tmp_path / "m")  # the settings travel with it
    out = tmp_path / "onnx"
    assert main(["export", str(tmp_path / "m"), "--output", str(out), "--format", "onnx"]) == 0
    onnx = Embedder.load(out)
    assert isinstance(onnx, OnnxEmbedder) and (out / "model.onnx").is_file()
    torch_emb = Embedder.load(tmp_path / "m")
    texts = _texts()
    for batch_size in (1, 7, 40):  # each shape is new to the graph
        ours = torch_emb.encode(texts, batch_size=batch_size)
        theirs = onnx.encode(texts, batch_size=batch_size)
        assert theirs.shape == ours.shape and np.abs(theirs - ours).max() <= 1e-5
    assert "ONNX Runtime" in (out / "README.md").read_text()


def test_roles_and_tokenization_overrides_apply(tiny_decoder, tmp_path):
    Embedder.load(tiny_decoder, query_prompt="query: {}").save(tmp_path / "m")
    main(["export", str(tmp_path / "m"), "--output", str(tmp_path / "o"), "--format", "onnx"])
    texts = _texts(10)
    for kw in ({}, {"max_length": 8}):
        ours = Embedder.load(tmp_path / "m", **kw).encode(texts, role="query")
        theirs = Embedder.load(tmp_path / "o", **kw).encode(texts, role="query")
        assert np.abs(theirs - ours).max() <= 1e-5


def test_what_the_graph_fixed_cannot_be_overridden(tiny_decoder, tmp_path):
    main(["export", str(tiny_decoder), "--output", str(tmp_path / "o"), "--format", "onnx"])
    with pytest.raises(ConfigError, match="pooling"):
        Embedder.load(tmp_path / "o", pooling="mean")
    with pytest.raises(ConfigError, match="CPU"):
        Embedder.load(tmp_path / "o", device="cuda")
    Embedder.load(tmp_path / "o", pooling="last_token", dtype="bf16")  # the same: accepted
    with pytest.raises(Exception, match="export --format onnx"):
        Embedder.load(tmp_path / "o").save(tmp_path / "again")


def test_bf16_onnx_is_refused_and_nothing_is_written(tiny_decoder, tmp_path):
    out = tmp_path / "o"
    args = ["export", str(tiny_decoder), "--output", str(out), "--format", "onnx"]
    assert main([*args, "--dtype", "bf16"]) == 2
    assert not out.exists()


def test_embed_takes_the_onnx_folder(tiny_decoder, tmp_path):
    main(["export", str(tiny_decoder), "--output", str(tmp_path / "o"), "--format", "onnx"])
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(_texts(5)) + "\n")
    out = tmp_path / "vectors.npy"
    args = ["embed", "--model", str(tmp_path / "o"), "--input", str(texts), "--output", str(out)]
    assert main(args) == 0
    ours = Embedder.load(tiny_decoder).encode(_texts(5))
    assert np.abs(np.load(out) - ours).max() <= 1e-5


def test_a_damaged_graph_names_the_file(tiny_decoder, tmp_path):
    main(["export", str(tiny_decoder), "--output", str(tmp_path / "o"), "--format", "onnx"])
    (tmp_path / "o" / "model.onnx").write_bytes(b"not a graph")
    with pytest.raises(Exception, match=r"model\.onnx: ONNX Runtime cannot load it"):
        Embedder.load(tmp_path / "o")


def test_attention_is_traced_in_eager_form_and_the_model_is_left_as_it_was(tiny_encoder, tmp_path):
    import onnx

    from embedtune.export.onnx import write_onnx

    emb = Embedder.load(tiny_encoder, attn_implementation="sdpa")
    write_onnx(emb, tmp_path)
    ops = {node.op_type for node in onnx.load(str(tmp_path / "model.onnx")).graph.node}
    # the exporter's SDPA masks every layer's full score matrix with IsNaN + Where
    assert "Softmax" in ops and "IsNaN" not in ops
    assert emb.backbone.config._attn_implementation == "sdpa"


def test_a_rotated_model_keeps_its_rotation_in_the_graph(tiny_decoder, tmp_path):
    from embedtune.models.rotation import fit_rotation

    emb = Embedder.load(tiny_decoder)
    texts = _texts()
    emb.rotate(fit_rotation(emb.encode(texts)), "40 test texts")
    emb.save(tmp_path / "m")
    out = tmp_path / "onnx"
    assert main(["export", str(tmp_path / "m"), "--output", str(out), "--format", "onnx"]) == 0
    onnx = Embedder.load(out)
    assert onnx.config.rotation == "40 test texts"  # applied once, inside the graph
    assert np.abs(onnx.encode(texts) - emb.encode(texts)).max() <= 1e-5


def test_an_onnx_export_cannot_be_rotated(tiny_decoder, tmp_path, capsys):
    out = tmp_path / "onnx"
    assert main(["export", str(tiny_decoder), "--output", str(out), "--format", "onnx"]) == 0
    src = tmp_path / "t.txt"
    src.write_text("\n".join(_texts(40)) + "\n")
    args = ["rotate", "--model", str(out), "--input", str(src), "--output", str(tmp_path / "r")]
    assert main(args) == 2
    assert "rotate the model it was exported from" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
