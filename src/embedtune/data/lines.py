"""Reading delimited text files line by line, with the line number in every error (and
Parquet files, through pyarrow when it is installed).

The STS and NLI files carry no quoting at all (many sentences start with ``"``), so the
``csv`` module's defaults would silently merge rows. We split on the delimiter ourselves,
which keeps every row on its own physical line and lets errors say ``file:line``.

>>> rows = list(read_rows(path, delimiter="\\t"))   # doctest: +SKIP
>>> rows[0]                                        # doctest: +SKIP
Row(line=2, fields={'sentence1': 'A man plays.', 'sentence2': 'A man is playing.', 'score': '4.8'})
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from embedtune.errors import DataError


@dataclass(frozen=True)
class Row:
    """One data row: its 1-based line number in the file and its fields by column name."""

    line: int
    fields: dict[str, str]


def _decode(raw: bytes, path: Path, lineno: int) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(
            f"{path}:{lineno}: undecodable bytes at column {e.start + 1} "
            f"({raw[e.start : e.end]!r}); the file must be UTF-8"
        ) from None
    if lineno == 1 and text.startswith("\ufeff"):  # a byte-order mark is harmless: drop it
        text = text[1:]
    return text.rstrip("\r\n")


def read_rows(
    path: str | Path,
    delimiter: str = "\t",
    required: Sequence[str] = (),
    on_bad_row: Callable[[DataError], None] | None = None,
    names: Sequence[str] | None = None,
) -> Iterator[Row]:
    """Yield the rows of a headered, unquoted delimited file (``names``: the file has no
    header line, its first line is data, and these are its columns).

    Checks that every row has as many fields as the header and that the ``required``
    columns exist; a violation raises :class:`DataError` naming ``file:line``. Blank lines
    at the end of the file are ignored; a blank line in the middle is an error.
    With ``on_bad_row`` a bad data row is passed to it and skipped instead of raising
    (header problems always raise).
    """

    def bad(error: DataError) -> None:
        if on_bad_row is None:
            raise error
        on_bad_row(error)

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    with path.open("rb") as f:
        if names is None:
            header_raw = f.readline()
            if not header_raw.strip():
                raise DataError(f"{path}:1: empty file or missing header line")
            header, first_line = _decode(header_raw, path, 1).split(delimiter), 2
        else:
            header, first_line = list(names), 1
        if len(header) < 2:
            raise DataError(
                f"{path}:1: header has one column ({header[0][:60]!r}); "
                f"expected fields separated by {delimiter!r}"
            )
        duplicated = sorted({h for h in header if header.count(h) > 1})
        if duplicated:
            raise DataError(f"{path}:1: duplicate column name(s) {duplicated} in the header")
        missing = [c for c in required if c not in header]
        if missing:
            raise DataError(f"{path}:1: missing column(s) {missing}; header has {header}")
        blank_at = 0
        for lineno, raw in enumerate(f, start=first_line):
            try:
                text = _decode(raw, path, lineno)
            except DataError as e:
                bad(e)
                continue
            if not text.strip():
                blank_at = blank_at or lineno
                continue
            if blank_at:
                bad(DataError(f"{path}:{blank_at}: blank line inside the data"))
                blank_at = 0
            fields = text.split(delimiter)
            if len(fields) != len(header):
                bad(
                    DataError(
                        f"{path}:{lineno}: expected {len(header)} fields separated by "
                        f"{delimiter!r}, found {len(fields)}"
                    )
                )
                continue
            yield Row(lineno, dict(zip(header, fields)))


def read_csv_records(
    path: Path,
    on_bad_row: Callable[[DataError], None] | None = None,
    names: Sequence[str] | None = None,
) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """(header, iterator of (line, record)) of a quoted CSV file (quoted fields may span
    lines; the line reported is where the record ends). Same error rules as
    :func:`read_rows`, and the same ``names`` for a file without a header line."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: undecodable bytes; the file must be UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = list(names) if names is not None else next(reader, None)
    if not header:
        raise DataError(f"{path}:1: empty file or missing header line")

    def records() -> Iterator[tuple[int, dict[str, str]]]:
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                error = DataError(
                    f"{path}:{reader.line_num}: expected {len(header)} fields, found {len(row)}"
                )
                if on_bad_row is None:
                    raise error
                on_bad_row(error)
                continue
            yield reader.line_num, dict(zip(header, row))

    return header, records()


def read_parquet(path: Path):
    """A Parquet file as a pyarrow Table (pyarrow is optional: a clear error says so)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
    return pq.read_table(path)


def read_jsonl(
    path: Path, on_bad_row: Callable[[DataError], None] | None = None
) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for each non-blank line of a JSON Lines file.

    Lines are split on ``\\n`` only (a U+2028 inside a string is text, not a line end), so
    the numbers match an editor's. A line that is not a JSON object raises (or, with
    ``on_bad_row``, is passed to it and skipped)."""
    with Path(path).open("rb") as f:
        for lineno, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                error = DataError(f"{path}:{lineno}: not a JSON object ({e.__class__.__name__})")
            else:
                if isinstance(rec, dict):
                    yield lineno, rec
                    continue
                error = DataError(
                    f"{path}:{lineno}: expected a JSON object, got {type(rec).__name__}"
                )
            if on_bad_row is None:
                raise error
            on_bad_row(error)
