"""Embed texts into ``.npy`` (+ ``.ids.txt``) or ``.parquet``, in input order.

Outputs are written to a temporary name and renamed when complete: a failed run leaves
nothing behind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedtune.atomic import atomic_file, ensure_free_space
from embedtune.errors import DataError


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
    embedder,
    ids: list[str],
    texts: list[str],
    output: str,
    batch_size: int = 32,
    role: str | None = None,
) -> int:
    """Embed ``texts`` (as ``role``: "query", "document" or None) and write them with their
    ``ids`` to ``output``; returns the count."""
    out = check_output(output)
    what = f"embeddings of {len(texts)} texts"
    ensure_free_space(out.parent, len(texts) * embedder.dim * 4, what)  # before the work
    vectors = embedder.encode(texts, batch_size=batch_size, role=role)
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
