"""Retrieval tasks in BEIR's layout: a corpus, queries and relevance judgements (qrels).

A BEIR folder holds ``corpus.jsonl`` (``{"_id", "title", "text"}`` a line), ``queries.jsonl``
(``{"_id", "text"}``; the queries of every split) and ``qrels/<split>.tsv`` (header
``query-id, corpus-id, score``; BEIR ships CRLF line ends). A split is the set of queries its
qrels name. The reader is strict the way the STS reader is: an unparsable line, a duplicate
id, a query without text or a qrel naming an unknown query stops with ``file:line``. A qrel
naming a document the corpus lacks is counted and reported, not fatal: BEIR's own ArguAna
has five.

Documents are embedded as ``(title + " " + text).strip()``, MTEB's rule.

>>> task = read_beir("data/retrieval/scifact", "test")      # doctest: +SKIP
>>> len(task.query_ids), len(task.doc_ids), task.missing_docs  # doctest: +SKIP
(300, 5183, 0)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from embedtune.data.lines import read_jsonl, read_rows
from embedtune.errors import DataError

QRELS_COLUMNS = ("query-id", "corpus-id", "score")


@dataclass(frozen=True)
class RetrievalTask:
    """A named BEIR folder under the data root and the split that is scored."""

    key: str
    name: str  # the name MTEB prints
    folder: str  # relative to the data root
    split: str = "test"


RETRIEVAL_TASKS: dict[str, RetrievalTask] = {
    t.key: t
    for t in [
        RetrievalTask("scifact", "SciFact", "retrieval/scifact"),
        RetrievalTask("arguana", "ArguAna", "retrieval/arguana"),
    ]
}


@dataclass
class RetrievalData:
    """One split of a BEIR folder, ready to embed and score."""

    key: str
    name: str
    doc_ids: list[str]
    docs: list[str]  # title + " " + text, stripped
    query_ids: list[str]  # the split's queries, in queries.jsonl order
    queries: list[str]
    qrels: dict[str, dict[str, int]]  # query id -> {document id: relevance}
    missing_docs: int  # qrels naming a document that is not in the corpus
    corpus_sha256: str  # of corpus.jsonl: the corpus-embedding cache is keyed by it
    source: str


def _jsonl(path: Path, fields: tuple[str, ...]) -> list[tuple[int, dict]]:
    """(line number, object) of each non-blank line; each object must have ``fields`` as
    strings."""
    if not path.is_file():
        raise DataError(f"{path}: no such file (a BEIR folder has corpus.jsonl, queries.jsonl)")
    out = []
    for n, rec in read_jsonl(path):
        for f in fields:
            if not isinstance(rec.get(f), str):
                raise DataError(f"{path}:{n}: key {f!r} missing or not a string")
        out.append((n, rec))
    return out


def _unique_ids(path: Path, records: list[tuple[int, dict]]) -> None:
    seen: dict[str, int] = {}
    for n, rec in records:
        first = seen.setdefault(rec["_id"], n)
        if first != n:
            raise DataError(f"{path}:{n}: duplicate _id {rec['_id']!r} (first at line {first})")


def read_qrels(path: Path, query_ids: set[str]) -> dict[str, dict[str, int]]:
    """query id -> {document id: relevance} of one qrels file."""
    if not path.is_file():
        raise DataError(f"{path}: no such file (qrels/<split>.tsv)")
    qrels: dict[str, dict[str, int]] = {}
    for row in read_rows(path, "\t", required=QRELS_COLUMNS):
        qid, did, score = (row.fields[c].strip() for c in QRELS_COLUMNS)
        where = f"{path}:{row.line}"
        try:
            rel = int(score)
        except ValueError:
            raise DataError(f"{where}: score {score!r} is not an integer") from None
        if qid not in query_ids:
            raise DataError(f"{where}: query-id {qid!r} is not in queries.jsonl")
        if did in qrels.get(qid, {}):
            raise DataError(f"{where}: query {qid!r} and document {did!r} judged twice")
        qrels.setdefault(qid, {})[did] = rel
    if not qrels:
        raise DataError(f"{path}: no judgements")
    return qrels


def read_beir(
    folder: str | Path, split: str = "test", key: str | None = None, name: str | None = None
) -> RetrievalData:
    """Read one split of a BEIR folder (see the module docstring for what is checked)."""
    folder = Path(folder)
    corpus_path, queries_path = folder / "corpus.jsonl", folder / "queries.jsonl"
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (expected BEIR's layout)")
    if not qrels_path.is_file():
        splits = sorted(p.stem for p in (folder / "qrels").glob("*.tsv"))
        raise DataError(f"{qrels_path}: no such file; splits here: {splits or 'none'}")
    corpus = _jsonl(corpus_path, ("_id", "text"))
    _unique_ids(corpus_path, corpus)
    queries = _jsonl(queries_path, ("_id", "text"))
    _unique_ids(queries_path, queries)
    for n, rec in queries:
        if not rec["text"].strip():
            raise DataError(f"{queries_path}:{n}: query {rec['_id']!r} has no text")
    qrels = read_qrels(qrels_path, {rec["_id"] for _, rec in queries})
    doc_ids = [rec["_id"] for _, rec in corpus]
    known = set(doc_ids)
    missing = sum(d not in known for judged in qrels.values() for d in judged)
    kept = [rec for _, rec in queries if rec["_id"] in qrels]
    return RetrievalData(
        key=key or folder.name,
        name=name or folder.name,
        doc_ids=doc_ids,
        docs=[(str(rec.get("title") or "") + " " + rec["text"]).strip() for _, rec in corpus],
        query_ids=[rec["_id"] for rec in kept],
        queries=[rec["text"] for rec in kept],
        qrels=qrels,
        missing_docs=missing,
        corpus_sha256=hashlib.sha256(corpus_path.read_bytes()).hexdigest(),
        source=f"{folder} ({split})",
    )
