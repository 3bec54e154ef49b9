"""Training triplets (anchor, positive, hard negative) from TSV, CSV, JSONL, Parquet or the Hub.

Recognised layouts without configuration: ``anchor, positive, negative`` (``../shared/data/
nli/triplets.tsv``, sentence-transformers' all-nli), SimCSE's ``sent0, sent1, hard_neg``
(``nli_for_simcse.csv``) and ``premise, entailment, contradiction``. Other names are given
with ``columns=(anchor, positive, negative)``. Pairs without a negative column train with
in-batch negatives only. A TSV or CSV file without a header line (its first row holds text,
not column names; or ``header=False``) is read by position: anchor, positive[, negative].

A bad row (missing field, empty text, wrong column count, undecodable bytes) stops the load
with ``file:line``; with ``skip_bad_rows=True`` it is skipped and counted instead.

>>> t = read_triplets("triplets.tsv")        # doctest: +SKIP
>>> len(t), t.anchors[0], t.has_negatives      # doctest: +SKIP
(29100, 'A man plays a guitar.', True)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from embedtune.data.lines import read_csv_records, read_jsonl, read_parquet, read_rows
from embedtune.errors import DataError
from embedtune.paths import looks_like_path

KNOWN_LAYOUTS = [
    ("anchor", "positive", "negative"),
    ("sent0", "sent1", "hard_neg"),
    ("premise", "entailment", "contradiction"),
    ("query", "positive", "negative"),
]


@dataclass
class Triplets:
    anchors: list[str]
    positives: list[str]
    negatives: list[str] | None
    source: str
    sha256: str = ""
    skipped: list[str] = field(default_factory=list)  # one message per skipped row
    headerless: bool = False  # read by position: the file had no header line

    def __len__(self) -> int:
        return len(self.anchors)

    @property
    def has_negatives(self) -> bool:
        return self.negatives is not None

    def sample(self, n: int, seed: int) -> Triplets:
        """``n`` triplets drawn without replacement, the same ones for the same seed (for
        benchmarks that must give two tools identical data)."""
        import numpy as np

        pick = np.random.default_rng(seed).permutation(len(self))[:n].tolist()
        return Triplets(
            anchors=[self.anchors[i] for i in pick],
            positives=[self.positives[i] for i in pick],
            negatives=[self.negatives[i] for i in pick] if self.negatives else None,
            source=f"{self.source} (sample of {len(pick)}, seed {seed})",
            sha256=self.sha256,
        )


def _pick_columns(
    header: list[str], columns: tuple[str, ...] | None, where: str
) -> tuple[str, str, str | None]:
    if columns:
        if len(columns) not in (2, 3):
            raise DataError(f"`columns` must name 2 or 3 columns, got {list(columns)}")
        missing = [c for c in columns if c not in header]
        if missing:
            raise DataError(f"{where}: missing column(s) {missing}; the file has {header}")
        return columns[0], columns[1], columns[2] if len(columns) == 3 else None
    for layout in KNOWN_LAYOUTS:
        if layout[0] in header and layout[1] in header:
            return layout[0], layout[1], layout[2] if layout[2] in header else None
    raise DataError(
        f"{where}: cannot tell anchor/positive/negative columns from the header {header}; "
        f"known layouts {KNOWN_LAYOUTS}. Name them with --columns ANCHOR,POSITIVE[,NEGATIVE] "
        "(config key `columns`), or pass --no-header if that line is data, not column names"
    )


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")


def _positional(n: int) -> list[str]:
    """Column names for a file without a header: anchor, positive, negative, column4, ..."""
    return (["anchor", "positive", "negative"] + [f"column{i + 1}" for i in range(3, n)])[:n]


def _is_header(first: list[str], header: bool | None, columns) -> bool:
    """Whether a first row names columns: as told, else when every cell looks like a name
    (`sent0`, `hard_neg`), not like text (`A man plays.`)."""
    if header is not None:
        return header
    return bool(columns) or all(_NAME.fullmatch(c.strip()) for c in first)


def _records(
    path: Path, fmt: str, on_bad, header: bool | None = None, columns=None
) -> tuple[list[str], Iterator[tuple[int, dict]], bool]:
    """(header, iterator of (line, record), headerless) for one file format."""
    if fmt == "tsv":
        with path.open("rb") as f:
            first = (
                f.readline().decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r\n").split("\t")
            )
        names = None if _is_header(first, header, columns) else _positional(len(first))
        rows = read_rows(path, "\t", on_bad_row=on_bad, names=names)
        return names or first, ((r.line, r.fields) for r in rows), names is not None
    if fmt == "csv":
        first, records = read_csv_records(path, on_bad)
        if _is_header(first, header, columns):
            return first, records, False
        names = _positional(len(first))
        return names, read_csv_records(path, on_bad, names)[1], True
    if fmt == "jsonl":
        return (*_jsonl_records(path, on_bad), False)
    if fmt == "parquet":
        table = read_parquet(path)
        records = table.to_pylist()
        return table.column_names, ((i + 1, r) for i, r in enumerate(records)), False
    raise DataError(f"{path}: unknown format {fmt!r}; use .tsv, .csv, .jsonl or .parquet")


def _jsonl_records(path: Path, on_bad):
    records = list(read_jsonl(path, on_bad))
    header = list(records[0][1]) if records else []
    return header, iter(records)


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return {
        "tsv": "tsv",
        "txt": "tsv",
        "csv": "csv",
        "jsonl": "jsonl",
        "json": "jsonl",
        "parquet": "parquet",
    }.get(suffix, suffix)


def read_triplets(
    path: str | Path,
    columns: tuple[str, ...] | None = None,
    skip_bad_rows: bool = False,
    hub_config: str | None = "triplet",
    split: str = "train",
    header: bool | None = None,
) -> Triplets:
    """Read triplets from a file, or from a Hub dataset id when ``path`` is not a file.
    ``header``: whether a TSV/CSV file's first line names its columns (None: detect)."""
    p = Path(path).expanduser()
    if not p.exists():
        if looks_like_path(str(path), any_suffix=True):
            raise DataError(f"{path}: no such file")
        return _read_hub(str(path), columns, hub_config, split)
    skipped: list[str] = []

    def on_bad(error: DataError) -> None:
        if not skip_bad_rows:
            raise error
        skipped.append(str(error))

    names, records, headerless = _records(p, _format_of(p), on_bad, header, columns)
    a_col, p_col, n_col = _pick_columns(names, None if headerless else columns, f"{p}:1")
    anchors: list[str] = []
    positives: list[str] = []
    negatives: list[str] = []
    for line, rec in records:
        texts = [rec.get(a_col), rec.get(p_col)] + ([rec.get(n_col)] if n_col else [])
        names = [a_col, p_col, n_col]
        problem = next(
            (
                f"column {names[i]!r} is {'missing' if t is None else 'empty'}"
                for i, t in enumerate(texts)
                if not isinstance(t, str) or not t.strip()
            ),
            None,
        )
        if problem:
            on_bad(DataError(f"{p}:{line}: {problem}"))
            continue
        anchors.append(texts[0])
        positives.append(texts[1])
        if n_col:
            negatives.append(texts[2])
    if not anchors:
        raise DataError(f"{p}: no usable rows" + (f" ({len(skipped)} skipped)" if skipped else ""))
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    return Triplets(
        anchors, positives, negatives if n_col else None, str(p), digest, skipped, headerless
    )


def _read_hub(dataset_id: str, columns, config: str | None, split: str) -> Triplets:
    try:
        import datasets
    except ImportError:
        raise DataError(
            f"{dataset_id!r} is not a file, and reading Hub datasets needs `datasets` (pip install datasets)"
        ) from None
    try:
        ds = datasets.load_dataset(dataset_id, config, split=split)
    except Exception as e:
        raise DataError(
            f"{dataset_id!r}: not a file, and the Hub load failed ({type(e).__name__}: {e})"
        ) from None
    a_col, p_col, n_col = _pick_columns(list(ds.column_names), columns, dataset_id)
    return Triplets(
        list(ds[a_col]),
        list(ds[p_col]),
        list(ds[n_col]) if n_col else None,
        f"hub:{dataset_id}",
        sha256=f"hub:{getattr(ds, '_fingerprint', '')}",
    )
