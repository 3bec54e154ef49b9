import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from embedtune.data.sts import STSData
from embedtune.evaluation import evaluate_sts


class TableEmbedder:
    """Looks embeddings up in a fixed table and counts what it was asked to encode."""

    def __init__(self, table):
        self.table = table
        self.calls = []

    def encode(self, texts, batch_size=32, show_progress=None):
        self.calls.append(list(texts))
        return np.stack([self.table[t] for t in texts])


def test_matches_scipy_on_hand_made_data():
    rng = np.random.default_rng(0)
    words = [f"s{i}" for i in range(30)]
    table = {w: rng.normal(size=8) for w in words}
    s1, s2 = words[:15], words[15:]
    gold = rng.uniform(0, 5, size=15)
    emb = TableEmbedder(table)
    result = evaluate_sts(emb, [STSData("stsb", "STS-B", s1, s2, gold)])
    cos = np.array(
        [
            table[a] @ table[b] / np.linalg.norm(table[a]) / np.linalg.norm(table[b])
            for a, b in zip(s1, s2)
        ]
    )
    r = result["tasks"]["stsb"]
    assert r["spearman"] == pytest.approx(spearmanr(cos, gold).statistic * 100, abs=1e-9)
    assert r["pearson"] == pytest.approx(pearsonr(cos, gold).statistic * 100, abs=1e-9)
    assert r["n"] == 15


def test_each_distinct_sentence_is_encoded_once_and_average_std_are_population():
    rng = np.random.default_rng(1)
    table = {k: rng.normal(size=6) for k in "abcd"}
    t1 = STSData("sts12", "STS12", ["a", "b", "a"], ["b", "c", "d"], np.array([1.0, 2.0, 3.0]))
    t2 = STSData("sts13", "STS13", ["a", "c", "d"], ["d", "b", "a"], np.array([3.0, 1.0, 2.0]))
    emb = TableEmbedder(table)
    result = evaluate_sts(emb, [t1, t2])
    assert len(emb.calls) == 1 and sorted(emb.calls[0]) == ["a", "b", "c", "d"]
    scores = [result["tasks"][k]["spearman"] for k in ("sts12", "sts13")]
    assert result["average"] == pytest.approx(np.mean(scores))
    assert result["std"] == pytest.approx(np.std(scores, ddof=0))
