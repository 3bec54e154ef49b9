"""How many texts repeat inside a random training batch of the NLI triplets? (Whether
de-duplicating texts before embedding a batch would save any work.)

    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/duplicate_texts.py --batch 16 32
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from embedtune.data.batching import epoch_batches
from embedtune.data.triplets import read_triplets


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--batch", type=int, nargs="+", default=[16, 32])
    p.add_argument("--data-dir", default=os.environ.get("EMBEDTUNE_DATA_DIR"))
    args = p.parse_args()
    if not args.data_dir:
        raise SystemExit("set --data-dir or EMBEDTUNE_DATA_DIR")
    t = read_triplets(Path(args.data_dir) / "nli" / "triplets.tsv")
    print(f"{len(t)} triplets, {len(set(t.anchors))} distinct anchors")
    for batch in args.batch:
        texts = repeated = 0
        for idx in epoch_batches([0] * len(t), batch, seed=42, epoch=0, group_by_length=False):
            batch_texts = [t.anchors[i] for i in idx] + [t.positives[i] for i in idx]
            batch_texts += [t.negatives[i] for i in idx]
            texts += len(batch_texts)
            repeated += len(batch_texts) - len(set(batch_texts))
        print(
            f"batch {batch}: {repeated} of {texts} texts repeat within their batch ({repeated / texts:.2%})"
        )


if __name__ == "__main__":
    main()
