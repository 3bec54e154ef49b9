import json

from embedtune.data.demo import demo_sts, demo_triplets
from embedtune.training.quickstart import quickstart


def test_demo_set_is_large_enough_and_disjoint():
    t, s = demo_triplets(), demo_sts()
    assert len(t) >= 600 and t.has_negatives
    assert s.n >= 200 and sorted(set(s.scores.tolist())) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    counts = [int((s.scores == v).sum()) for v in range(6)]
    assert max(counts) - min(counts) <= 2  # evenly spread over the scale
    triplet_sentences = set(t.anchors) | set(t.positives) | set(t.negatives)
    assert not triplet_sentences & (set(s.sentences1) | set(s.sentences2))


def test_quickstart_end_to_end_on_demo_data(tiny_decoder, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EMBEDTUNE_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "qs"
    summary = quickstart(
        None,
        minutes=1.0,
        output_dir=str(out),
        model=str(tiny_decoder),
        steps=8,
        batch_size=8,
        lr=1e-3,
    )
    printed = capsys.readouterr().out
    assert (
        printed.splitlines()[0].startswith("[embedtune] quickstart:")
        and "demo set" in printed.splitlines()[0]
    )
    assert "not a benchmark" in printed
    report = json.loads((out / "report.json").read_text())
    assert report["data"] == "demo" and summary["steps"] == 8
    assert set(report["before"]["tasks"]) == {"demo-sts"} and set(report["after"]["tasks"]) == {
        "demo-sts"
    }
    for name in ["learning_curve.png", "run.json", "report.md", "final/embedtune.json"]:
        assert (out / name).exists(), name
