import numpy as np
import pytest

from embedtune.data.sts import SUITES, TASKS, load_task, resolve_tasks
from embedtune.errors import DataError

HEADER = "sentence1\tsentence2\tscore\n"


def _root(tmp_path, body: bytes | str, task="stsb", split="test"):
    folder = tmp_path / "sts" / task
    folder.mkdir(parents=True)
    data = body.encode() if isinstance(body, str) else body
    (folder / f"{split}.tsv").write_bytes(data)
    return tmp_path


def test_reads_pairs_and_scores(tmp_path):
    root = _root(tmp_path, HEADER + 'A "quoted" start.\tB.\t4.400\nC.\tD.\t0\n')
    data = load_task("stsb", root)
    assert data.sentences1 == ['A "quoted" start.', "C."] and np.allclose(data.scores, [4.4, 0.0])


def test_bom_and_crlf_load(tmp_path):
    root = _root(tmp_path, "\ufeff" + HEADER.replace("\n", "\r\n") + "A.\tB.\t1.5\r\n")
    assert load_task("stsb", root).sentences2 == ["B."]


@pytest.mark.parametrize(
    "body, message",
    [
        (HEADER + "A.\tB.\t4\nC.\tD.\n", "test.tsv:3: expected 3 fields"),
        (HEADER + "A.\tB.\tfour\n", "test.tsv:2: score 'four' is not a number"),
        (HEADER + "A.\tB.\t7\n", "test.tsv:2: score '7' outside"),
        (HEADER + "A.\tB.\tnan\n", "test.tsv:2: score 'nan' outside"),
        (HEADER + "A.\t \t3\n", "test.tsv:2: empty sentence"),
        (HEADER + "A.\tB.\t3\n\nC.\tD.\t2\n", "test.tsv:3: blank line"),
        ("sentence1,sentence2,score\nA.,B.,3\n", "test.tsv:1: header has one column"),
        ("s1\ts2\tscore\nA.\tB.\t3\n", "test.tsv:1: missing column"),
        (HEADER, "no data rows"),
        (HEADER.encode() + b"A\xff.\tB.\t3\n", "test.tsv:2: undecodable bytes"),
    ],
)
def test_malformed_files_fail_with_file_and_line(tmp_path, body, message):
    root = _root(tmp_path, body)
    with pytest.raises(DataError, match=message.replace("(", r"\(")):
        load_task("stsb", root)


def test_sickr_concatenates_its_three_splits(tmp_path):
    for split, n in [("train", 2), ("dev", 1), ("test", 3)]:
        folder = tmp_path / "sts" / "sickr"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{split}.tsv").write_text(HEADER + "A.\tB.\t3\n" * n)
    assert load_task("sickr", tmp_path).n == 6


def test_suites_and_task_keys():
    assert resolve_tasks("all") == [
        "sts12",
        "sts13",
        "sts14",
        "sts15",
        "sts16",
        "sts17",
        "stsb",
        "biosses",
        "sickr",
    ]
    assert resolve_tasks("stsb, sts12,stsb") == ["stsb", "sts12"]
    assert all(k in TASKS for k in SUITES["senteval"])
    with pytest.raises(DataError, match="unknown task 'sts99'"):
        resolve_tasks("sts99")


def test_missing_data_dir_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no such directory"):
        load_task("stsb", tmp_path / "missing")
