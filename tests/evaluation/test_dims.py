import json

import numpy as np
import pytest

from embedtune.cli import main
from embedtune.data.beir import read_beir
from embedtune.data.sts import STSData
from embedtune.evaluation.dims import Memo, PrefixView
from embedtune.evaluation.run import score_tasks, scores_by_dim
from embedtune.models import Embedder
from tests.data.test_beir import write_beir


def test_each_size_scores_its_prefix_from_one_encoding(tiny_encoder, tmp_path):
    emb = Embedder.load(tiny_encoder)
    calls = []
    encode = emb.encode
    emb.encode = lambda texts, **kw: calls.append(kw.get("role")) or encode(texts, **kw)
    beir = read_beir(write_beir(tmp_path / "toy"), "test")
    words = ["a cat sleeps", "a dog runs", "two birds sing", "the sun is hot", "rain falls"]
    sts = STSData("toy-sts", "toy", words, words[::-1], np.array([1.0, 2.0, 3.0, 2.0, 1.0]))
    by_dim = scores_by_dim(emb, [sts, beir], [32, 16, 8], corpus_cache=False)
    assert list(by_dim) == [32, 16, 8]
    assert sorted(calls, key=str) == sorted([None, "document", "query"], key=str)  # once each
    emb.encode = encode
    full = score_tasks(emb, [sts, beir], corpus_cache=False)
    assert by_dim[32]["toy-sts"] == pytest.approx(full["tasks"]["toy-sts"]["spearman"], abs=1e-6)
    assert by_dim[32][beir.key] == pytest.approx(full["tasks"][beir.key]["ndcg_at_10"], abs=1e-6)
    view = PrefixView(Memo(emb), 8).encode(words)
    prefix = emb.encode(words)[:, :8]
    assert np.allclose(view, prefix / np.linalg.norm(prefix, axis=1, keepdims=True), atol=1e-6)


def test_evaluate_dims_writes_the_curve_and_refuses_sizes_the_model_lacks(
    tiny_encoder, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("EMBEDTUNE_CACHE", str(tmp_path / "cache"))
    folder = write_beir(tmp_path / "toy")
    out = tmp_path / "r.json"
    args = ["evaluate", "--model", str(tiny_encoder), "--tasks", str(folder), "--output", str(out)]
    assert main(args + ["--dims", "8,32,16"]) == 0
    result = json.loads(out.read_text())
    assert list(result["dims"]) == ["32", "16", "8"] and (tmp_path / "r.dims.png").is_file()
    assert main(args + ["--dims", "64,8"]) == 2
    assert "--dims must be integers in [1, 32]" in capsys.readouterr().err


def test_evaluate_with_dims_embeds_each_text_once(tiny_encoder, tmp_path, monkeypatch):
    """The full-size evaluation and the smaller sizes share one encoding of the queries and
    the corpus (the probe texts of the corpus-cache key aside)."""
    from embedtune.evaluation.corpus_cache import PROBES
    from embedtune.evaluation.run import evaluate_model

    folder = write_beir(tmp_path / "toy")
    seen = []
    encode = Embedder.encode
    monkeypatch.setattr(
        Embedder,
        "encode",
        lambda self, texts, **kw: seen.append(list(texts)) or encode(self, texts, **kw),
    )
    evaluate_model(str(tiny_encoder), str(folder), dims=[32, 16, 8], dtype="fp32")
    task = read_beir(folder, "test")
    real = [t for t in seen if t != PROBES]
    assert sorted(map(tuple, real)) == sorted([tuple(task.docs), tuple(task.queries)])


def test_each_size_stores_its_documents_at_the_asked_precision(tiny_encoder, tmp_path, monkeypatch):
    """`--dims` with `--precision`: every prefix is searched as the full size is (binary,
    rescored), not in float32, so the curve is the one the stored vectors would give."""
    import embedtune.evaluation.run as run

    seen = []
    real = run.evaluate_retrieval_task
    monkeypatch.setattr(
        run,
        "evaluate_retrieval_task",
        lambda *a, **kw: seen.append((kw["precision"], kw["rescore"])) or real(*a, **kw),
    )
    beir = read_beir(write_beir(tmp_path / "toy"), "test")
    emb = Embedder.load(tiny_encoder)
    by_dim = scores_by_dim(emb, [beir], [32, 8], corpus_cache=False, precision="ubinary", rescore=2)
    assert seen == [("ubinary", 2)] * 2
    full = score_tasks(emb, [beir], corpus_cache=False, precision="ubinary", rescore=2)
    assert by_dim[32][beir.key] == pytest.approx(full["tasks"][beir.key]["ndcg_at_10"], abs=1e-6)
