import math

import pytest
import torch

from embedtune.evaluation.retrieval import retrieval_metrics, top_k


def test_metrics_match_values_worked_out_by_hand_for_three_queries():
    qrels = {"q1": {"d1": 1, "d2": 1}, "q2": {"d3": 1}, "q3": {"d4": 1}}
    run = {
        "q1": {"d1": 0.9, "d5": 0.8, "d2": 0.7},  # relevant at ranks 1 and 3
        "q2": {"d5": 0.9, "d3": 0.5},  # relevant at rank 2
        "q3": {"d1": 0.9, "d2": 0.8},  # nothing relevant retrieved
    }
    m = retrieval_metrics(qrels, run)
    ndcg_q1 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    ndcg_q2 = 1 / math.log2(3)
    assert m["ndcg_at_10"] == pytest.approx(100 * (ndcg_q1 + ndcg_q2) / 3, abs=1e-9)
    assert m["map_at_100"] == pytest.approx(100 * ((1 + 2 / 3) / 2 + 1 / 2) / 3, abs=1e-9)
    assert m["mrr_at_10"] == pytest.approx(100 * (1 + 1 / 2) / 3, abs=1e-9)
    assert m["recall_at_100"] == pytest.approx(100 * 2 / 3, abs=1e-9)
    assert m["precision_at_10"] == pytest.approx(100 * (2 / 10 + 1 / 10) / 3, abs=1e-9)


def test_mrr_at_10_ignores_a_relevant_document_below_rank_10():
    qrels = {"q": {"d10": 1}}
    run = {"q": {f"d{i}": 1.0 - i / 100 for i in range(11)}}  # d10 is at rank 11
    assert retrieval_metrics(qrels, run)["mrr_at_10"] == 0.0


@pytest.mark.parametrize("max_mib", [0.01, 1000.0])
def test_blockwise_top_k_equals_the_full_score_matrix(max_mib):
    """With a bound far below the full matrix (7 x 5,000 floats = 137 KiB against 10 KiB)
    the running top-k must give exactly what sorting the whole matrix gives."""
    g = torch.Generator().manual_seed(0)
    queries, docs = torch.randn(7, 16, generator=g), torch.randn(5000, 16, generator=g)
    exclude = [3, -1, 4999, 0, -1, 2048, 1023]
    scores, rows = top_k(queries, docs, 50, exclude, max_score_mib=max_mib)
    full = queries @ docs.T
    for i, e in enumerate(exclude):
        if e >= 0:
            full[i, e] = float("-inf")
    want_s, want_i = full.topk(50, dim=1)
    assert torch.equal(rows, want_i) and torch.allclose(scores, want_s)
    assert all(e not in rows[i].tolist() for i, e in enumerate(exclude))


def test_top_k_never_asks_for_more_than_the_corpus():
    scores, rows = top_k(torch.ones(2, 4), torch.eye(4), k=1000)
    assert rows.shape == (2, 4)


class TableEmbedder:
    """Embeddings looked up in a fixed table."""

    def __init__(self, table):
        self.table = table

    def encode(self, texts, batch_size=32, show_progress=None, role=None):
        import numpy as np

        return np.stack([self.table[t] for t in texts])


def test_a_document_with_the_querys_id_is_not_retrieved_for_it(tmp_path):
    """ArguAna's queries are corpus documents with the same id: each query's own document
    would rank first; MTEB drops it, so the counter-argument is rank 1."""
    import numpy as np

    from embedtune.data.beir import read_beir
    from embedtune.evaluation.retrieval import evaluate_retrieval_task
    from tests.data.test_beir import write_beir

    corpus = [
        {"_id": "a1", "title": "", "text": "argument one"},
        {"_id": "c1", "title": "", "text": "counter one"},
        {"_id": "x", "title": "", "text": "unrelated"},
    ]
    queries = [{"_id": "a1", "text": "argument one"}]
    task = read_beir(write_beir(tmp_path / "t", corpus, queries, ["a1\tc1\t1"]), "test")
    table = {
        "argument one": np.array([1.0, 0.0]),
        "counter one": np.array([0.9, 0.1]),
        "unrelated": np.array([0.0, 1.0]),
    }
    r = evaluate_retrieval_task(TableEmbedder(table), task, corpus_cache=False)
    assert r["ndcg_at_10"] == 100.0 and r["mrr_at_10"] == 100.0
    assert r["queries"] == 1 and r["documents"] == 3 and r["missing_qrels_docs"] == 0


def test_evaluate_command_scores_a_beir_folder_and_writes_json(tiny_encoder, tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("EMBEDTUNE_CACHE", str(tmp_path / "cache"))
    from embedtune.cli import main
    from tests.data.test_beir import write_beir

    folder = write_beir(tmp_path / "toy")
    out = tmp_path / "out.json"
    assert (
        main(
            ["evaluate", "--model", str(tiny_encoder), "--tasks", str(folder), "--output", str(out)]
        )
        == 0
    )
    result = json.loads(out.read_text())
    scores = result["tasks"][str(folder)]
    assert {"ndcg_at_10", "map_at_100", "mrr_at_10", "recall_at_100", "precision_at_10"} <= set(
        scores
    )
    assert scores["queries"] == 2 and scores["missing_qrels_docs"] == 1
    assert result["retrieval_average"] == scores["ndcg_at_10"]


@pytest.mark.parametrize(
    "file, append, message",
    [
        ("corpus.jsonl", "{oops\n", "corpus.jsonl:4: not a JSON object"),
        ("queries.jsonl", '{"_id": "q9", "text": ""}\n', "queries.jsonl:4: query 'q9' has no text"),
        ("qrels/test.tsv", None, "test.tsv:1: missing column(s) ['score']"),
    ],
)
def test_bad_beir_input_exits_2_with_file_and_line_and_writes_nothing(
    tiny_encoder, tmp_path, capsys, file, append, message
):
    from embedtune.cli import main
    from tests.data.test_beir import write_beir

    folder = write_beir(tmp_path / "toy")
    path = folder / file
    if append is None:  # a qrels file without its score column
        path.write_text("query-id\tcorpus-id\r\nq1\td1\r\n")
    else:
        path.write_text(path.read_text() + append)
    out = tmp_path / "out.json"
    code = main(
        ["evaluate", "--model", str(tiny_encoder), "--tasks", str(folder), "--output", str(out)]
    )
    assert code == 2 and message in capsys.readouterr().err
    assert not out.exists()


def test_the_corpus_cache_serves_the_same_model_and_misses_changed_weights(
    tiny_encoder, tmp_path, monkeypatch
):
    import torch

    from embedtune.data.beir import read_beir
    from embedtune.evaluation.retrieval import evaluate_retrieval_task
    from embedtune.models import Embedder
    from tests.data.test_beir import write_beir

    monkeypatch.setenv("EMBEDTUNE_CACHE", str(tmp_path / "cache"))
    task = read_beir(write_beir(tmp_path / "toy"), "test")
    embedder = Embedder.load(tiny_encoder)
    seen = []
    encode = embedder.encode
    embedder.encode = lambda texts, **kw: seen.append(list(texts)) or encode(texts, **kw)

    first = evaluate_retrieval_task(embedder, task)
    again = evaluate_retrieval_task(embedder, task)
    assert not first["corpus_from_cache"] and again["corpus_from_cache"]
    assert sum(t == task.docs for t in seen) == 1  # the corpus was embedded once
    assert again["ndcg_at_10"] == first["ndcg_at_10"]
    assert len(list((tmp_path / "cache" / "corpus").glob("*.npy"))) == 1

    with torch.no_grad():  # other weights: the probe texts embed differently, a new key
        next(embedder.backbone.parameters()).mul_(1.5)
    assert not evaluate_retrieval_task(embedder, task)["corpus_from_cache"]
    embedder.config.prompt = "query: {}"  # another setting: a new key too
    assert not evaluate_retrieval_task(embedder, task)["corpus_from_cache"]
    assert len(list((tmp_path / "cache" / "corpus").glob("*.npy"))) == 3


def test_a_rotated_model_shares_the_unrotated_corpus_entry(tiny_encoder, tmp_path, monkeypatch):
    import numpy as np

    from embedtune.data.beir import read_beir
    from embedtune.evaluation.corpus_cache import embed_corpus
    from embedtune.evaluation.dims import Memo
    from embedtune.models import Embedder
    from embedtune.models.rotation import fit_rotation
    from tests.data.test_beir import write_beir

    monkeypatch.setenv("EMBEDTUNE_CACHE", str(tmp_path / "cache"))
    task = read_beir(write_beir(tmp_path / "toy"), "test")
    plain = Embedder.load(tiny_encoder)
    rotated = Embedder.load(tiny_encoder)
    r = fit_rotation(np.random.default_rng(0).normal(size=(64, plain.dim)))
    rotated.rotate(r, "random")
    table, cached = embed_corpus(rotated, task.docs, task.corpus_sha256)
    assert not cached
    assert np.abs(table - rotated.encode(task.docs, role="document")).max() <= 1e-5
    again, cached = embed_corpus(plain, task.docs, task.corpus_sha256)  # the entry it left
    assert cached and np.abs(again - plain.encode(task.docs, role="document")).max() <= 1e-5
    table, cached = embed_corpus(rotated, task.docs, task.corpus_sha256)
    assert cached and np.abs(table - again @ r.T).max() <= 1e-6
    assert rotated.rotation is not None  # put back after the lookup
    memo = Memo(rotated)  # what `evaluate --dims` passes: the same entry, read through it
    table, cached = embed_corpus(memo, task.docs, task.corpus_sha256)
    assert cached and np.abs(table - again @ r.T).max() <= 1e-6
    assert len(list((tmp_path / "cache" / "corpus").glob("*.npy"))) == 1
