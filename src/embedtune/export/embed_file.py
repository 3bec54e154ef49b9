"""Embed texts into ``.npy`` (+ ``.ids.txt``) or ``.parquet``, in input order; optionally
quantized (``.npy`` only): int8 with its per-dimension ranges beside it
(``FILE.int8-ranges.npy``: row 0 the minima, row 1 the maxima; pass it as ``calibration`` to
embed queries on the corpus's scale), or packed binary (``ubinary``: D/8 bytes a vector).

Outputs are written to a temporary name and renamed when complete: a failed run leaves
nothing behind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedtune.atomic import atomic_file, ensure_free_space
from embedtune.errors import DataError
from embedtune.quantization import check_precision, int8_ranges, to_int8, to_ubinary


def check_output(output: str, precision: str = "float32") -> Path:
    """Reject an output name we cannot write, before any work is done."""
    out = Path(output)
    if out.suffix not in (".npy", ".parquet"):
        raise DataError(f"{output}: the output must end in .npy or .parquet")
    if precision != "float32" and out.suffix != ".npy":
        raise DataError(f"{output}: {precision} embeddings are written as .npy")
    if out.suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise DataError(
                f"{output}: writing Parquet needs pyarrow (pip install pyarrow)"
            ) from None
    return out


def embed_texts(
    embedder,
    ids: list[str],
    texts: list[str],
    output: str,
    batch_size: int = 32,
    role: str | None = None,
    precision: str = "float32",
    calibration: str | None = None,
) -> int:
    """Embed ``texts`` (as ``role``: "query", "document" or None) and write them with their
    ``ids`` to ``output`` at ``precision``; returns the count."""
    out = check_output(output, check_precision(precision))
    ranges = _read_ranges(calibration, embedder.dim) if calibration else None
    what = f"embeddings of {len(texts)} texts"
    ensure_free_space(out.parent, len(texts) * embedder.dim * 4, what)  # before the work
    vectors = embedder.encode(texts, batch_size=batch_size, role=role)
    if precision == "int8":
        ranges = ranges if ranges is not None else np.stack(int8_ranges(vectors))
        vectors = to_int8(vectors, ranges[0], ranges[1])
        with atomic_file(out.with_name(out.stem + ".int8-ranges.npy")) as tmp:
            with tmp.open("wb") as f:
                np.save(f, ranges.astype(np.float32))
    elif precision == "ubinary":
        vectors = to_ubinary(vectors)
    with atomic_file(out) as tmp:
        if out.suffix == ".npy":
            with tmp.open("wb") as f:
                np.save(f, vectors)
            with atomic_file(out.with_suffix(".ids.txt")) as ids_tmp:
                ids_tmp.write_text("".join(f"{i}\n" for i in ids))
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({"id": ids, "embedding": list(vectors)}), tmp)
    return len(texts)


def _read_ranges(path: str, dim: int) -> np.ndarray:
    """A (2, dim) float array of int8 ranges written by an earlier int8 embedding."""
    try:
        ranges = np.load(path)
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a .npy array ({e})") from None
    if ranges.shape != (2, dim) or not np.isfinite(ranges).all():
        raise DataError(
            f"{path}: int8 ranges must be a finite (2, {dim}) array (minima, maxima), "
            f"got shape {ranges.shape}"
        )
    return ranges
