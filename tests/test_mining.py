import json

import numpy as np

from embedtune.data.beir import read_beir
from embedtune.mining import mine
from tests.data.test_beir import write_beir


class TableEmbedder:
    def __init__(self, table):
        self.table = table

    def encode(self, texts, batch_size=32, show_progress=None, role=None):
        return np.stack([self.table[t] for t in texts])


def _vec(angle_deg: float) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    return np.array([np.cos(a), np.sin(a)])


def test_mining_drops_positives_the_top_window_and_near_duplicates_of_the_positive(tmp_path):
    # cosine to the query: p1 0.94, p2 (another positive) 0.99, near 0.98 (> 0.95 x 0.94),
    # a 0.87, b 0.71, c 0.5, far -1
    angles = {"p1": 20, "p2": 8, "near": 11, "a": 30, "b": 45, "c": 60, "far": 180}
    corpus = [{"_id": k, "title": "", "text": f"doc {k}"} for k in angles]
    queries = [{"_id": "q", "text": "the query"}]
    folder = write_beir(tmp_path / "t", corpus, queries, ["q\tp1\t1", "q\tp2\t1"], split="train")
    task = read_beir(folder, "train")
    table = {"the query": _vec(0), **{f"doc {k}": _vec(v) for k, v in angles.items()}}
    out = tmp_path / "mined.jsonl"
    s = mine(
        TableEmbedder(table), task, out, negatives=2, skip_top=0, margin=0.95, corpus_cache=False
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    by_pos = {}
    for r in rows:
        by_pos.setdefault(r["positive_id"], []).append(r["negative_id"])
    # p1 (0.94): near (0.98) is above 0.95 x 0.94 -> dropped; then a, b
    assert by_pos["p1"] == ["a", "b"]
    # p2 (0.99): near 0.98 is above 0.95 x 0.99 = 0.94 too; a 0.87 and b 0.71 are kept
    assert by_pos["p2"] == ["a", "b"]
    assert s.dropped_positive == 2 and s.dropped_margin == 2 and s.triplets == 4
    assert {"query", "positive", "negative", "negative_score", "negative_rank"} <= set(rows[0])
    assert json.loads((tmp_path / "mined.jsonl.summary.json").read_text())["triplets"] == 4

    s = mine(
        TableEmbedder(table), task, out, negatives=2, skip_top=1, margin=1.0, corpus_cache=False
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["negative_id"] for r in rows if r["positive_id"] == "p1"] == [
        "a",
        "b",
    ]  # near skipped
    assert rows[0]["negative_rank"] == 2 and s.dropped_margin == 0 and s.dropped_rank_window == 2


def test_mined_triplets_are_read_by_train(tmp_path):
    from embedtune.data.triplets import read_triplets

    path = tmp_path / "mined.jsonl"
    row = {"query": "q", "positive": "p", "negative": "n", "negative_score": 0.5, "query_id": "1"}
    path.write_text(json.dumps(row) + "\n")
    t = read_triplets(path)
    assert (t.anchors, t.positives, t.negatives) == (["q"], ["p"], ["n"])
