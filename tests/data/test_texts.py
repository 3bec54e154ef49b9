from embedtune.data.texts import read_texts


def test_plain_text_splits_on_newline_only(tmp_path):
    """U+2028, U+2029, U+0085 and form feeds are text, not line ends; CRLF loses its CR."""
    path = tmp_path / "texts.txt"
    path.write_bytes("first\u2028still first\r\nsecond\u2029x\x0cy\u0085z\n\nfourth\n".encode())
    ids, texts = read_texts(path)
    assert ids == ["1", "2", "4"]
    assert texts == ["first\u2028still first", "second\u2029x\x0cy\u0085z", "fourth"]


def test_jsonl_line_numbers_count_newlines_only(tmp_path):
    path = tmp_path / "texts.jsonl"
    path.write_bytes(b'{"text": "a"}\r\n{"text": "b\\u2028c"}\n{"text": "d"}\n')
    ids, texts = read_texts(path)
    assert ids == ["1", "2", "3"] and texts == ["a", "b\u2028c", "d"]


def test_parquet_texts_keep_their_ids_and_name_a_missing_column(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    import pytest

    from embedtune.errors import DataError

    path = tmp_path / "texts.parquet"
    pq.write_table(pa.table({"id": ["d7", "d9"], "text": ["alpha", "beta"]}), path)
    assert read_texts(path) == (["d7", "d9"], ["alpha", "beta"])
    with pytest.raises(DataError, match=r"texts.parquet: no column 'body'"):
        read_texts(path, column="body")
