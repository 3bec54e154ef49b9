import json

import pytest

from embedtune.data.triplets import read_triplets
from embedtune.errors import DataError


def test_reads_the_shared_layout(triplet_file):
    t = read_triplets(triplet_file)
    assert len(t) == 32 and t.has_negatives and t.anchors[0] == "a man is playing a guitar"
    assert len(t.sha256) == 64


def test_simcse_csv_layout(tmp_path):
    path = tmp_path / "nli_for_simcse.csv"
    path.write_text('sent0,sent1,hard_neg\n"A man, smiling.",A man smiles.,A man frowns.\n')
    t = read_triplets(path)
    assert t.anchors == ["A man, smiling."] and t.negatives == ["A man frowns."]


def test_jsonl_pairs_without_negatives(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(
        "\n".join(json.dumps({"query": q, "positive": p}) for q, p in [("a", "b"), ("c", "d")])
    )
    t = read_triplets(path)
    assert not t.has_negatives and t.positives == ["b", "d"]


def test_custom_columns(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("q\tdoc\tbad\nA\tB\tC\n")
    t = read_triplets(path, columns=("q", "doc", "bad"))
    assert (t.anchors, t.positives, t.negatives) == (["A"], ["B"], ["C"])


@pytest.mark.parametrize(
    "name, body, message",
    [
        ("t.tsv", "anchor\tpositive\tnegative\nA\tB\tC\nA\tB\n", "t.tsv:3: expected 3 fields"),
        ("t.tsv", "anchor\tpositive\tnegative\nA\t\tC\n", "t.tsv:2: column 'positive' is empty"),
        ("t.tsv", b"anchor\tpositive\tnegative\nA\tB\xfe\tC\n", "t.tsv:2: undecodable bytes"),
        (
            "t.jsonl",
            '{"anchor": "A", "positive": "B"}\n{"anchor": "A"}\n',
            "t.jsonl:2: column 'positive' is missing",
        ),
        ("t.jsonl", '{"anchor": "A", "positive": "B"}\n{oops\n', "t.jsonl:2: not a JSON object"),
        ("t.csv", "sent0,sent1,hard_neg\nA,B,C\nA,B\n", "t.csv:3: expected 3 fields"),
        ("t.tsv", "text\tlabel\nA\t1\n", "t.tsv:1: cannot tell anchor/positive/negative"),
    ],
)
def test_malformed_triplet_files_fail_with_file_and_line(tmp_path, name, body, message):
    path = tmp_path / name
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    with pytest.raises(DataError, match=message):
        read_triplets(path)


def test_skip_bad_rows_counts_them(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("anchor\tpositive\tnegative\nA\tB\tC\nA\tB\n\t\tC\nD\tE\tF\n")
    t = read_triplets(path, skip_bad_rows=True)
    assert t.anchors == ["A", "D"] and len(t.skipped) == 2 and "t.tsv:3" in t.skipped[0]


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_triplets(tmp_path / "none.tsv")


def test_sample_is_seeded_and_keeps_triplets_together(triplet_file):
    full = read_triplets(triplet_file)
    a, b = full.sample(5, seed=1), full.sample(5, seed=1)
    assert len(a) == 5 and a.anchors == b.anchors and a.negatives == b.negatives
    for anchor, positive, negative in zip(a.anchors, a.positives, a.negatives):
        i = full.anchors.index(anchor)
        assert (full.positives[i], full.negatives[i]) == (positive, negative)


def test_a_file_without_a_header_is_read_by_position(tmp_path):
    tsv = tmp_path / "plain.tsv"
    tsv.write_text(
        "A man plays.\tA man makes music.\tA man sleeps.\nA cat sits.\tA pet sits.\tA car.\n"
    )
    t = read_triplets(tsv)
    assert t.headerless and len(t) == 2 and t.anchors[0] == "A man plays."
    assert t.negatives == ["A man sleeps.", "A car."]
    csv_file = tmp_path / "pairs.csv"
    csv_file.write_text('"A man plays, loudly.",A man makes music.\nA cat sits.,A pet sits.\n')
    pairs = read_triplets(csv_file)
    assert (
        pairs.headerless and pairs.positives[0] == "A man makes music." and not pairs.has_negatives
    )
    # one-word rows look like names: the caller says there is no header
    words = tmp_path / "words.tsv"
    words.write_text("dog\tpuppy\tcar\ncat\tkitten\tboat\n")
    with pytest.raises(DataError, match="--no-header"):
        read_triplets(words)
    assert len(read_triplets(words, header=False)) == 2


def test_unknown_column_names_say_which_flags_fix_it(tmp_path):
    path = tmp_path / "named.tsv"
    path.write_text("question\tanswer\nwho?\tme\n")
    with pytest.raises(DataError, match=r"--columns ANCHOR,POSITIVE\[,NEGATIVE\].*--no-header"):
        read_triplets(path)
    assert read_triplets(path, columns=("question", "answer")).anchors == ["who?"]


def test_the_train_command_takes_header_flags():
    from embedtune.cli import build_parser

    args = build_parser().parse_args(["train", "--no-header"])
    assert args.header is False
    assert build_parser().parse_args(["train"]).header is None


def test_parquet_triplets(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "train.parquet"
    table = {"anchor": ["a", "c"], "positive": ["b", "d"], "negative": ["x", "y"]}
    pq.write_table(pa.table(table), path)
    t = read_triplets(path)
    assert (t.anchors, t.positives, t.negatives) == (["a", "c"], ["b", "d"], ["x", "y"])
