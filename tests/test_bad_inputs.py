"""The bad-input corpus (tests/data/bad/): every file either loads as specified (BOM, CRLF,
a huge line) or makes the CLI exit 2 with a message naming the file and line (or the
config key), writing nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from embedtune.cli import main

BAD = Path(__file__).parent / "data" / "bad"

# file -> what the message must contain (None: the file loads)
EXPECTED = {
    "sts_wrong_delimiter.tsv": "test.tsv:1: header has one column",
    "sts_missing_column.tsv": "test.tsv:1: missing column(s) ['score']",
    "sts_short_row.tsv": "test.tsv:3: expected 3 fields",
    "sts_empty_text.tsv": "test.tsv:2: empty sentence",
    "sts_nan_score.tsv": "test.tsv:2: score 'nan' outside",
    "sts_out_of_range.tsv": "test.tsv:3: score '5.5' outside",
    "sts_score_not_a_number.tsv": "test.tsv:2: score 'four' is not a number",
    "sts_undecodable.tsv": "test.tsv:2: undecodable bytes",
    "sts_duplicate_header.tsv": "test.tsv:1: duplicate column name(s) ['sentence1']",
    "sts_quotes_spanning_lines.tsv": "test.tsv:2: expected 3 fields",
    "sts_blank_line_inside.tsv": "test.tsv:3: blank line inside the data",
    "sts_header_only.tsv": "test.tsv: no data rows",
    "sts_bom.tsv": None,
    "sts_crlf.tsv": None,
    "triplets_wrong_delimiter.tsv": "triplets_wrong_delimiter.tsv:1: cannot tell anchor/positive/negative",
    "triplets_missing_field.tsv": "triplets_missing_field.tsv:3: expected 3 fields",
    "triplets_empty_text.tsv": "triplets_empty_text.tsv:2: column 'positive' is empty",
    "triplets_undecodable.tsv": "triplets_undecodable.tsv:2: undecodable bytes",
    "triplets_unclosed_quote.csv": "triplets_unclosed_quote.csv:3: expected 3 fields",
    "triplets_bad_json.jsonl": "triplets_bad_json.jsonl:2: not a JSON object",
    "triplets_missing_key.jsonl": "triplets_missing_key.jsonl:2: column 'positive' is missing",
    "triplets_unknown_columns.tsv": "triplets_unknown_columns.tsv:1: cannot tell anchor/positive/negative",
    "triplets_huge_line.tsv": None,
    "triplets_bom_crlf.tsv": None,
    "embed_empty_text.jsonl": "embed_empty_text.jsonl:2: empty text in column 'text'",
    "embed_missing_column.csv": "embed_missing_column.csv:1: no column 'text'",
    "embed_undecodable.txt": "embed_undecodable.txt:2: undecodable bytes",
    "embed_wrong_field_count.tsv": "embed_wrong_field_count.tsv:3: expected 2 fields",
    "config_unknown_key.yaml": "config_unknown_key.yaml: unknown key `learning_rate`",
    "config_wrong_type.yaml": "config_wrong_type.yaml: `batch_size` must be int, got 'sixty'",
    "config_negative_lr.yaml": "config_negative_lr.yaml: `lr` must be > 0",
    "config_invalid_yaml.yaml": "config_invalid_yaml.yaml:3: invalid YAML",
    "config_not_a_mapping.yaml": "config_not_a_mapping.yaml: expected a mapping",
    "config_list_of_wrong_items.yaml": "config_list_of_wrong_items.yaml: `eval_tasks_at` must be a list of ints",
}


def test_the_corpus_is_complete():
    assert sorted(EXPECTED) == sorted(p.name for p in BAD.iterdir())
    assert sum(v is not None for v in EXPECTED.values()) >= 25


def _command(name: str, tmp_path: Path) -> tuple[list[str], Path]:
    """The CLI call that reads ``name``, and the output it must not leave behind."""
    out = tmp_path / "out"
    src = BAD / name
    if name.startswith("sts_"):
        root = tmp_path / "data"
        (root / "sts" / "stsb").mkdir(parents=True)
        shutil.copy(src, root / "sts" / "stsb" / "test.tsv")
        return [
            "evaluate",
            "--model",
            "minilm-l6",
            "--tasks",
            "stsb",
            "--data-dir",
            str(root),
            "--output",
            str(out),
        ], out
    if name.startswith("triplets_"):
        return ["train", "--data", str(src), "--output-dir", str(out), "--max-steps", "1"], out
    if name.startswith("embed_"):
        return [
            "embed",
            "--model",
            "minilm-l6",
            "--input",
            str(src),
            "--output",
            str(out / "e.npy"),
        ], out
    return ["train", "--config", str(src), "--output-dir", str(out)], out


@pytest.mark.parametrize("name", [n for n, v in EXPECTED.items() if v is not None])
def test_bad_file_fails_with_its_place_exit_2_and_no_output(name, tmp_path, capsys):
    argv, out = _command(name, tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert EXPECTED[name] in err, err
    assert not out.exists()


@pytest.mark.parametrize("name", [n for n, v in EXPECTED.items() if v is None])
def test_tolerated_file_loads(name, tmp_path):
    from embedtune.data.sts import load_task
    from embedtune.data.triplets import read_triplets

    if name.startswith("sts_"):
        argv, _ = _command(name, tmp_path)
        data = load_task("stsb", argv[argv.index("--data-dir") + 1])
        assert data.sentences1 == ["A man.", "A dog."] and data.scores.tolist() == [4.0, 1.0]
    else:
        t = read_triplets(BAD / name)
        assert t.anchors[0].startswith("A man") and t.negatives[-1] in ("A dog.", "A car.")
        assert not any(s.endswith("\r") for s in t.anchors + t.positives + t.negatives)
