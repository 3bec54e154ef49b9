"""A BEIR split as training data: (query, relevant document) pairs, with a dev hold-out.

``embedtune train --data retrieval/scifact:train`` trains on the pairs of SciFact's train
qrels (one pair per judged-relevant document that the corpus has), with in-batch negatives;
mined hard negatives come as a triplet file from ``embedtune mine``. A fixed share of the
split's queries (``dev_queries``, drawn with a seed of its own so ``mine`` and ``train``
agree whatever the training seed) is held out: never trained on, and scored during training
for model selection. The test split is never touched.

The dev corpus is the held-out queries' relevant documents plus ``dev_corpus`` other
documents drawn from the corpus (0: all of it): scoring the whole corpus at every
evaluation would cost a full corpus embedding each time, so the dev nDCG@10 is a faster,
stricter-than-nothing proxy, used only to compare checkpoints of one run.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import replace
from pathlib import Path

from embedtune.data.beir import RetrievalData, read_beir
from embedtune.data.triplets import Triplets
from embedtune.errors import DataError

HOLD_OUT_SEED = 20240814  # fixed: the dev queries of a split do not move with --seed


def parse_split_spec(data: str, root: Path | None) -> tuple[Path, str] | None:
    """(folder, split) for ``FOLDER:SPLIT`` when FOLDER (as given, or under the data root)
    is a BEIR folder; None for anything else (a triplet file, a Hub id)."""
    folder, sep, split = data.rpartition(":")
    if not sep or not split or "/" in split:
        return None
    for candidate in [Path(folder).expanduser(), *([root / folder] if root else [])]:
        if (candidate / "corpus.jsonl").is_file():
            return candidate, split
    return None


def hold_out(
    task: RetrievalData, dev_queries: int, dev_corpus: int
) -> tuple[RetrievalData, RetrievalData]:
    """(training part, dev part) of one split: ``dev_queries`` queries (at most a fifth of
    them) go to dev, with a dev corpus as the module docstring says."""
    ids = sorted(task.query_ids)
    n = min(dev_queries, len(ids) // 5)
    if dev_queries > 0 and n == 0:
        raise DataError(f"{task.source}: {len(ids)} queries are too few to hold out a dev set")
    dev_ids = set(random.Random(HOLD_OUT_SEED).sample(ids, n))

    def part(keep: set[str], **kw) -> RetrievalData:
        order = [i for i, q in enumerate(task.query_ids) if q in keep]
        return replace(
            task,
            query_ids=[task.query_ids[i] for i in order],
            queries=[task.queries[i] for i in order],
            qrels={q: d for q, d in task.qrels.items() if q in keep},
            **kw,
        )

    train = part(set(ids) - dev_ids)
    relevant = {d for q in dev_ids for d in task.qrels[q]}
    others = [d for d in task.doc_ids if d not in relevant]
    picked = (
        set(others)
        if dev_corpus <= 0
        else set(random.Random(HOLD_OUT_SEED).sample(others, min(dev_corpus, len(others))))
    )
    rows = [i for i, d in enumerate(task.doc_ids) if d in relevant or d in picked]
    dev = part(
        dev_ids,
        key=f"{task.key}-dev",
        name=f"{task.name} dev ({n} held-out queries, {len(rows)} documents)",
        doc_ids=[task.doc_ids[i] for i in rows],
        docs=[task.docs[i] for i in rows],
        corpus_sha256=hashlib.sha256(
            (task.corpus_sha256 + ",".join(task.doc_ids[i] for i in rows)).encode()
        ).hexdigest(),
    )
    return train, dev


def training_pairs(task: RetrievalData) -> Triplets:
    """One (query, document) pair per relevant judgement whose document the corpus has."""
    text_of = dict(zip(task.doc_ids, task.docs))
    anchors, positives = [], []
    for qid, query in zip(task.query_ids, task.queries):
        for did, rel in task.qrels[qid].items():
            if rel > 0 and did in text_of:
                anchors.append(query)
                positives.append(text_of[did])
    if not anchors:
        raise DataError(f"{task.source}: no (query, relevant document) pairs")
    # what defines the pairs (resume checks it): the corpus, the queries' texts, the qrels
    judged = json.dumps(
        [task.corpus_sha256, task.query_ids, task.queries, task.qrels], sort_keys=True
    )
    digest = hashlib.sha256(judged.encode()).hexdigest()
    return Triplets(anchors, positives, None, task.source, digest)


def read_split_for_training(
    folder: Path, split: str, dev_queries: int, dev_corpus: int
) -> tuple[Triplets, RetrievalData | None]:
    """(training pairs, dev task or None when ``dev_queries`` is 0)."""
    task = read_beir(folder, split, key=f"{folder.name}-{split}", name=f"{folder.name} {split}")
    if dev_queries <= 0:
        return training_pairs(task), None
    train, dev = hold_out(task, dev_queries, dev_corpus)
    return training_pairs(train), dev
