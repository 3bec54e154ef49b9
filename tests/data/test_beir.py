import json
from pathlib import Path

import pytest

from embedtune.data import tasks
from embedtune.data.beir import read_beir
from embedtune.errors import DataError

CORPUS = [
    {"_id": "d1", "title": "Cats", "text": "Cats sleep a lot."},
    {"_id": "d2", "title": "", "text": "Dogs bark at night. "},
    {"_id": "q2", "title": "Self", "text": "A document with a query's id."},
]
QUERIES = [
    {"_id": "q1", "text": "Why do cats sleep?"},
    {"_id": "q2", "text": "Which animals bark?"},
    {"_id": "q3", "text": "a query of another split"},
]


def write_beir(folder: Path, corpus=CORPUS, queries=QUERIES, qrels=None, split="test") -> Path:
    """A BEIR folder as BEIR ships it (qrels with CRLF line ends)."""
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in corpus))
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    rows = qrels or ["q1\td1\t1", "q2\td2\t1", "q2\tmissing-doc\t1"]
    text = "query-id\tcorpus-id\tscore\r\n" + "".join(r + "\r\n" for r in rows)
    (folder / "qrels" / f"{split}.tsv").write_text(text)
    return folder


def test_reads_a_split_with_crlf_qrels_and_counts_missing_documents(tmp_path):
    t = read_beir(write_beir(tmp_path / "toy"), "test")
    assert t.query_ids == ["q1", "q2"]  # q3 is in no qrels of this split
    assert t.docs == [
        "Cats Cats sleep a lot.",
        "Dogs bark at night.",
        "Self A document with a query's id.",
    ]
    assert t.qrels == {"q1": {"d1": 1}, "q2": {"d2": 1, "missing-doc": 1}}
    assert t.missing_docs == 1 and len(t.corpus_sha256) == 64


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda f: _append(f / "corpus.jsonl", "{not json\n"),
            r"corpus.jsonl:4: not a JSON object",
        ),
        (
            lambda f: _append(f / "corpus.jsonl", '{"_id": "d1", "text": "again"}\n'),
            r"corpus.jsonl:4: duplicate _id 'd1' \(first at line 1\)",
        ),
        (
            lambda f: _append(f / "corpus.jsonl", '{"_id": "d9"}\n'),
            r"corpus.jsonl:4: key 'text' missing",
        ),
        (
            lambda f: _append(f / "queries.jsonl", '{"_id": "q4", "text": "  "}\n'),
            r"queries.jsonl:4: query 'q4' has no text",
        ),
        (
            lambda f: (f / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\r\nq1\td1\r\n"),
            r"test.tsv:1: missing column\(s\) \['score'\]",
        ),
        (
            lambda f: _append(f / "qrels" / "test.tsv", "q9\td1\t1\r\n"),
            r"test.tsv:5: query-id 'q9' is not in queries.jsonl",
        ),
        (
            lambda f: _append(f / "qrels" / "test.tsv", "q1\td2\tyes\r\n"),
            r"test.tsv:5: score 'yes' is not an integer",
        ),
        (
            lambda f: _append(f / "qrels" / "test.tsv", "q1\td1\t1\r\n"),
            r"test.tsv:5: query 'q1' and document 'd1' judged twice",
        ),
    ],
)
def test_malformed_beir_folders_fail_with_file_and_line(tmp_path, mutate, message):
    folder = write_beir(tmp_path / "toy")
    mutate(folder)
    with pytest.raises(DataError, match=message):
        read_beir(folder, "test")


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_a_missing_split_names_the_splits_there(tmp_path):
    folder = write_beir(tmp_path / "toy")
    with pytest.raises(DataError, match=r"dev.tsv: no such file; splits here: \['test'\]"):
        read_beir(folder, "dev")


def test_tasks_mix_sts_keys_suites_and_beir_paths(tmp_path):
    folder = write_beir(tmp_path / "toy", split="dev")
    spec = f"stsb,retrieval,{folder}:dev"
    assert tasks.resolve(spec) == ["stsb", "scifact", "arguana", f"{folder}:dev"]
    loaded = tasks.load(f"{folder}:dev")
    assert loaded.name == "toy (dev)" and loaded.query_ids == ["q1", "q2"]
    with pytest.raises(DataError, match="not a BEIR folder"):
        tasks.resolve(str(tmp_path))
    with pytest.raises(DataError, match="unknown task 'scifacts'.*or the path of a BEIR folder"):
        tasks.resolve("scifacts")


def test_named_retrieval_tasks_need_a_data_directory(monkeypatch):
    monkeypatch.delenv("EMBEDTUNE_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="needs a data directory with retrieval/scifact/"):
        tasks.load("scifact")
