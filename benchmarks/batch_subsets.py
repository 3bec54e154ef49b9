"""Which triplets did the batch-size cell's runs see? Each run trains on its first 12,288
triplets in batch order (length-grouped batches, seed 42), and the grouping depends on the
batch size, so the runs saw different subsets of the 29,100. This counts, for each batch
size, how many of its triplets the batch-32 run also saw, next to what two random subsets of
that size share on average (12,288^2 / 29,100).

    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/batch_subsets.py

Writes benchmarks/results/batch-subsets/overlap.json, which docs/reproduction.md quotes.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from embedtune.config import load_config
from embedtune.data.batching import epoch_batches
from embedtune.data.triplets import read_triplets
from embedtune.models import Embedder

SEEN = 32 * 384
OUT = Path(__file__).parent / "results" / "batch-subsets" / "overlap.json"


def seen(lengths: list[int], batch: int, seed: int) -> set[int]:
    """The triplets of the first SEEN // batch batches of epoch 0, as the trainer orders them."""
    batches = epoch_batches(lengths, batch, seed, 0, group_by_length=True)[: SEEN // batch]
    return {i for b in batches for i in b}


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data-dir", default=os.environ.get("EMBEDTUNE_DATA_DIR"))
    args = p.parse_args()
    if not args.data_dir:
        raise SystemExit("set --data-dir or EMBEDTUNE_DATA_DIR")
    cfg = load_config("configs/cpu-gemma3-270m.yaml")
    root = Path(args.data_dir)
    t = read_triplets(root / cfg.data)
    emb = Embedder.load(cfg.model, pooling=cfg.pooling, prompt=cfg.prompt, dtype="bf16")
    anchors, positives = (
        emb.token_ids(t.anchors, cfg.max_length),
        emb.token_ids(t.positives, cfg.max_length),
    )
    lengths = [len(a) + len(p) for a, p in zip(anchors, positives)]
    subsets = {b: seen(lengths, b, cfg.seed) for b in (8, 32, 128, 512)}
    result = {
        "triplets": len(t),
        "seen_per_run": SEEN,
        "random_expectation": round(SEEN * SEEN / len(t)),
        "shared_with_batch_32": {b: len(s & subsets[32]) for b, s in subsets.items()},
        "in_all_four": len(set.intersection(*subsets.values())),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
