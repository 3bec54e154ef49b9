"""Hard-negative mining: for each training query, the corpus documents a model ranks high
that are not among its positives, written as triplets that ``embedtune train`` reads.

Which candidates are dropped, and why (each counted in the summary):

- the query's own positives (any judged-relevant document of that query);
- the top ``skip_top`` remaining candidates: the very top of a ranking is where unjudged
  relevant documents sit (false negatives), so a window below it is safer;
- any candidate scoring above ``margin`` x the positive's score (positive-aware mining, as
  NV-Retriever's "TopK-PercPos" with 0.95): too close to the positive to be trusted as a
  negative.

Then ``negatives`` are kept per (query, positive) pair, best-ranked first. The dev queries
held out of the split (``data/beir_training.py``) are never mined: training must not see
them. Rows are JSONL with ``query``, ``positive``, ``negative`` (the columns ``train``
reads) plus ids, scores and the negative's rank, so a user can audit what was mined.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from embedtune.atomic import atomic_file
from embedtune.data.beir import RetrievalData
from embedtune.evaluation.corpus_cache import embed_corpus
from embedtune.evaluation.retrieval import top_k, unit_rows
from embedtune.log import log


@dataclass
class MiningSummary:
    queries: int = 0
    pairs: int = 0
    triplets: int = 0
    # counted once per query: ranked candidates that are judged relevant to it
    dropped_positive: int = 0
    # counted per (query, positive) pair: the top `skip_top` non-positive candidates
    dropped_rank_window: int = 0
    # counted per pair: candidates scoring above margin x that pair's positive score
    dropped_margin: int = 0
    short_pairs: int = 0  # pairs that got fewer than `negatives` negatives


def mine(
    embedder,
    task: RetrievalData,
    output: str | Path,
    negatives: int = 4,
    skip_top: int = 0,
    margin: float = 0.95,
    candidates: int = 50,
    batch_size: int = 32,
    corpus_cache: bool = True,
) -> MiningSummary:
    """Mine ``task``'s queries against its corpus and write the triplets to ``output``."""
    table, _ = embed_corpus(embedder, task.docs, task.corpus_sha256, batch_size, cache=corpus_cache)
    docs = unit_rows(table)
    queries = unit_rows(embedder.encode(task.queries, batch_size=batch_size, role="query"))
    row_of = {d: i for i, d in enumerate(task.doc_ids)}
    most_positives = max(len(j) for j in task.qrels.values())
    depth = candidates + skip_top + most_positives
    exclude = [row_of.get(q, -1) for q in task.query_ids]
    scores, rows = top_k(queries, docs, depth, exclude)
    summary = MiningSummary(queries=len(task.query_ids))
    lines = []
    for qi, qid in enumerate(task.query_ids):
        judged = task.qrels[qid]
        ranked = list(zip(rows[qi].tolist(), scores[qi].tolist()))
        kept = [(r, s) for r, s in ranked if task.doc_ids[r] not in judged]
        summary.dropped_positive += len(ranked) - len(kept)
        window = kept[skip_top : candidates + skip_top]
        for did, rel in judged.items():
            if rel <= 0 or did not in row_of:
                continue
            summary.pairs += 1
            pos = row_of[did]
            pos_score = float(queries[qi] @ docs[pos])
            summary.dropped_rank_window += min(skip_top, len(kept))
            chosen = []
            for rank, (r, s) in enumerate(window, start=skip_top + 1):
                if s > margin * pos_score:
                    summary.dropped_margin += 1
                    continue
                chosen.append((rank, r, s))
                if len(chosen) == negatives:
                    break
            summary.short_pairs += len(chosen) < negatives
            for rank, r, s in chosen:
                lines.append(
                    json.dumps(
                        {
                            "query": task.queries[qi],
                            "positive": task.docs[pos],
                            "negative": task.docs[r],
                            "query_id": qid,
                            "positive_id": did,
                            "negative_id": task.doc_ids[r],
                            "positive_score": round(pos_score, 5),
                            "negative_score": round(s, 5),
                            "negative_rank": rank,
                        },
                        ensure_ascii=False,
                    )
                )
    summary.triplets = len(lines)
    with atomic_file(Path(output)) as tmp:
        tmp.write_text("".join(line + "\n" for line in lines))
    with atomic_file(Path(str(output) + ".summary.json")) as tmp:
        tmp.write_text(json.dumps(asdict(summary), indent=2) + "\n")
    log.info(
        f"mined {summary.triplets} triplets for {summary.pairs} pairs of {summary.queries} "
        f"queries; dropped {summary.dropped_positive} positives, {summary.dropped_rank_window} "
        f"in the top-{skip_top} window, {summary.dropped_margin} above {margin} x the "
        f"positive's score; {summary.short_pairs} pairs got fewer than {negatives}"
    )
    return summary
