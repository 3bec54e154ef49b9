"""Embed texts into ``.npy`` (+ ``.ids.txt``) or ``.parquet``, in input order.

Outputs are written to a temporary name and renamed when complete: a failed run leaves
nothing behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from embedtune.diskspace import ensure_free_space
from embedtune.errors import DataError


def _temp_beside(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}-", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    return Path(tmp)


def check_output(output: str) -> Path:
    """Reject an output name we cannot write, before any work is done."""
    out = Path(output)
    if out.suffix not in (".npy", ".parquet"):
        raise DataError(f"{output}: the output must end in .npy or .parquet")
    if out.suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise DataError(
                f"{output}: writing Parquet needs pyarrow (pip install pyarrow)"
            ) from None
    return out


def embed_texts(
    embedder, ids: list[str], texts: list[str], output: str, batch_size: int = 32
) -> int:
    """Embed ``texts`` and write them with their ``ids`` to ``output``; returns the count."""
    out = check_output(output)
    ensure_free_space(
        out.parent, len(texts) * embedder.dim * 4, f"embeddings of {len(texts)} texts"
    )
    vectors = embedder.encode(texts, batch_size=batch_size)
    tmp = _temp_beside(out)
    try:
        if out.suffix == ".npy":
            with tmp.open("wb") as f:
                np.save(f, vectors)
            ids_path = out.with_suffix(".ids.txt")
            ids_tmp = _temp_beside(ids_path)
            ids_tmp.write_text("".join(f"{i}\n" for i in ids))
            os.replace(ids_tmp, ids_path)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({"id": ids, "embedding": list(vectors)}), tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return len(texts)
