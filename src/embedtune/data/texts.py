"""Texts to embed, from a plain-text, JSONL, CSV, TSV or Parquet file, with their ids.

Plain text: one text per line (lines end at "\n" alone), the id is the line number. Tabular files: ``column`` holds the
text and ``id_column`` (if the file has it) the id, else the row's line number. Empty texts
and missing columns are errors naming file and line.
"""

from __future__ import annotations

from pathlib import Path

from embedtune.data.lines import read_csv_records, read_jsonl, read_parquet, read_rows
from embedtune.errors import DataError


def _check(text, where: str, column: str) -> str:
    if not isinstance(text, str):
        raise DataError(
            f"{where}: column {column!r} is {'missing' if text is None else 'not text'}"
        )
    if not text.strip():
        raise DataError(f"{where}: empty text in column {column!r}")
    return text


def read_texts(
    path: str | Path, column: str = "text", id_column: str = "id"
) -> tuple[list[str], list[str]]:
    """(ids, texts) of ``path`` in file order."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    ids: list[str] = []
    texts: list[str] = []
    if suffix == ".txt":
        raw = path.read_bytes()
        try:
            lines = raw.decode("utf-8-sig").split("\n")
        except UnicodeDecodeError as e:
            line = raw[: e.start].count(b"\n") + 1
            raise DataError(f"{path}:{line}: undecodable bytes; the file must be UTF-8") from None
        # "\n" only: str.splitlines() also splits on U+2028, U+0085, form feeds..., which
        # real text contains, and every later id (line number) would shift
        for n, line in enumerate(lines, start=1):
            line = line[:-1] if line.endswith("\r") else line
            if line.strip():
                ids.append(str(n))
                texts.append(line)
    elif suffix in (".tsv", ".csv"):
        if suffix == ".tsv":
            records = ((r.line, r.fields) for r in read_rows(path, "\t", required=(column,)))
        else:
            header, records = read_csv_records(path)
            if column not in header:
                raise DataError(f"{path}:1: no column {column!r}; header has {header}")
        for line, rec in records:
            texts.append(_check(rec.get(column), f"{path}:{line}", column))
            ids.append(rec[id_column] if id_column in rec else str(line))
    elif suffix in (".jsonl", ".json"):
        for n, rec in read_jsonl(path):
            texts.append(_check(rec.get(column), f"{path}:{n}", column))
            ids.append(str(rec[id_column]) if id_column in rec else str(n))
    elif suffix == ".parquet":
        table = read_parquet(path)
        if column not in table.column_names:
            raise DataError(f"{path}: no column {column!r}; columns: {table.column_names}")
        col = table.column(column).to_pylist()
        id_col = table.column(id_column).to_pylist() if id_column in table.column_names else None
        for i, text in enumerate(col):
            texts.append(_check(text, f"{path}: row {i + 1}", column))
            ids.append(str(id_col[i]) if id_col else str(i + 1))
    else:
        raise DataError(
            f"{path}: unknown format {suffix!r}; use .txt, .jsonl, .csv, .tsv or .parquet"
        )
    if not texts:
        raise DataError(f"{path}: no texts")
    return ids, texts
