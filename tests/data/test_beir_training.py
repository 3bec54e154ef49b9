import json

import pytest

from embedtune.data.beir import read_beir
from embedtune.data.beir_training import hold_out, parse_split_spec, read_split_for_training
from embedtune.errors import DataError
from tests.data.test_beir import write_beir


def toy_split(tmp_path, n_queries=20, n_docs=40):
    corpus = [
        {"_id": f"d{i}", "title": f"t{i}", "text": f"document number {i}"} for i in range(n_docs)
    ]
    queries = [{"_id": f"q{i}", "text": f"question {i}"} for i in range(n_queries)]
    qrels = [f"q{i}\td{i}\t1" for i in range(n_queries)] + ["q0\td39\t1", "q1\tgone\t1"]
    return write_beir(tmp_path / "toy", corpus, queries, qrels, split="train")


def test_the_split_spec_is_a_beir_folder_and_a_split(tmp_path):
    folder = toy_split(tmp_path)
    assert parse_split_spec(f"{folder}:train", None) == (folder, "train")
    assert parse_split_spec("toy:train", tmp_path) == (tmp_path / "toy", "train")  # under the root
    assert parse_split_spec("nli/triplets.tsv", tmp_path) is None
    assert parse_split_spec(f"{tmp_path}/nowhere:train", None) is None


def test_pairs_leave_out_missing_documents_and_the_dev_queries(tmp_path):
    folder = toy_split(tmp_path)
    pairs, dev = read_split_for_training(folder, "train", dev_queries=4, dev_corpus=10)
    assert len(dev.query_ids) == 4
    trained = set(pairs.anchors)
    assert not trained & set(dev.queries)  # no dev query is trained on
    assert len(pairs) == 20 + 1 - 4 - ("question 0" in dev.queries)  # q1's missing doc gives none
    assert not pairs.has_negatives
    relevant = {d for q in dev.query_ids for d in dev.qrels[q]}
    assert relevant <= set(dev.doc_ids) and len(dev.doc_ids) == len(relevant) + 10
    again = read_split_for_training(folder, "train", dev_queries=4, dev_corpus=10)[1]
    assert again.query_ids == dev.query_ids  # the same draw every time


def test_hold_out_refuses_a_split_too_small_to_share(tmp_path):
    task = read_beir(toy_split(tmp_path, n_queries=4, n_docs=8), "train")
    with pytest.raises(DataError, match="too few to hold out"):
        hold_out(task, 2, 0)


def test_train_on_a_beir_split_selects_checkpoints_by_dev_ndcg(tiny_decoder, tmp_path, monkeypatch):
    from embedtune.training.run import run_training
    from tests.conftest import tiny_config

    monkeypatch.setenv("EMBEDTUNE_CACHE", str(tmp_path / "cache"))  # the final evaluation's
    folder = toy_split(tmp_path)
    cfg = tiny_config(
        tmp_path,
        tiny_decoder,
        data=f"{folder}:train",
        dev_queries=4,
        dev_corpus=10,
        eval_every=4,
        eval_tasks=f"{folder}:train",
    )
    run_training(cfg)
    out = tmp_path / "run"
    report = json.loads((out / "report.json").read_text())
    history = report["eval_history"]
    assert [r["step"] for r in history] == [0, 4, 8]
    assert all(r["metric"] == "ndcg_at_10" and 0 <= r["score"] <= 100 for r in history)
    assert (out / "best").is_dir() and "nDCG@10" in (out / "report.md").read_text()
    after = json.loads((out / "after.json").read_text())
    assert "ndcg_at_10" in after["tasks"][f"{folder}:train"]
