"""Does a long CPU training process slow down, and does another malloc fix it?

Why this exists: in the reproduction grid the nine-task evaluation after 360 training steps ran
at about 0.7x the speed of the same evaluation before training, in the same process, and
py-spy put 23.5 % of the slow evaluation's samples in glibc's ``posix_memalign`` (0.7 % before
training): the heap left behind by training (tensors of every sequence length) makes each new
allocation search long free lists. This probe measures it and compares allocators.

Each allocator runs in a fresh process (``LD_PRELOAD`` must be set before Python starts):
build the recipe (configs/cpu-gemma3-270m.yaml, real triplets), encode a fixed sample of the
nine STS tasks' texts, then train in windows of ``--every`` steps and encode the same texts
after each window. Printed: text/s of each encode and tokens/s of each window; the runs of
the allocators alternate, and ``--repeats`` gives medians.

    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/allocator_aging.py \
        --steps 180 --every 60 --allocators glibc,jemalloc --repeats 2
"""

from __future__ import annotations

import argparse
import ctypes.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# allocator -> library name for ctypes.util.find_library (None: the C library's own malloc);
# on Debian: apt-get install libjemalloc2 / libtcmalloc-minimal4
ALLOCATORS = {"glibc": None, "jemalloc": "jemalloc", "tcmalloc": "tcmalloc_minimal"}


def sample_texts(data_dir: str, tasks: str, n: int) -> list[str]:
    """Every k-th distinct text of the tasks: long and short ones, as evaluation sees them."""
    from embedtune.evaluation.run import load_tasks

    texts = []
    for task in load_tasks(tasks, data_dir):
        texts += task.sentences1 + task.sentences2
    texts = list(dict.fromkeys(texts))
    step = max(1, len(texts) // n)
    return texts[::step][:n]


def child(args) -> None:
    """One allocator's run, in this process; prints one JSON line."""
    from embedtune.config import load_config
    from embedtune.data.batching import epoch_batches
    from embedtune.data.triplets import read_triplets
    from embedtune.training.trainer import Trainer

    texts = sample_texts(args.data_dir, args.tasks, args.texts)
    triplets = read_triplets(str(Path(args.data_dir) / "nli" / "triplets.tsv"))
    with tempfile.TemporaryDirectory() as tmp:
        overrides = {"max_steps": args.steps, "eval_tasks": "", "eval_before": False}
        # the padded, uncompiled step its results measured
        overrides |= {"pack_tokens": 0, "compile": False}
        overrides |= {"output_dir": tmp, "model": args.model, "batch_size": args.batch_size}
        cfg = load_config(args.config, overrides)
        trainer = Trainer(cfg, triplets)
        trainer.setup()
        emb = trainer.embedder
        batches = epoch_batches(
            trainer.data.lengths, cfg.batch_size, cfg.seed, 0, cfg.group_by_length
        )
        if args.steps > len(batches):
            raise SystemExit(f"--steps {args.steps} is more than one epoch ({len(batches)} steps)")

        def encode_rate() -> float:
            start = time.perf_counter()
            emb.encode(texts, batch_size=cfg.eval_batch_size, show_progress=False)
            return round(len(texts) / (time.perf_counter() - start), 1)

        encodes = {0: encode_rate()}
        windows = {}
        emb.train()
        for lo in range(0, args.steps, args.every):
            start, tokens = time.perf_counter(), 0
            for idx in batches[lo : lo + args.every]:
                tokens += trainer.train_step(idx)[1]
                trainer.state.step += 1
            windows[lo + args.every] = round(tokens / (time.perf_counter() - start), 1)
            encodes[lo + args.every] = encode_rate()
            print(f"  step {lo + args.every}: {encodes[lo + args.every]} text/s", file=sys.stderr)
    print(json.dumps({"encode_text_per_s": encodes, "train_tokens_per_s": windows}), flush=True)


def medians(runs: list[dict], key: str) -> dict[str, float]:
    """Median over the repeats of one measurement, per step (the keys every run shares)."""
    return {k: statistics.median(r[key][k] for r in runs) for k in runs[0][key]}


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--config", default="configs/cpu-gemma3-270m.yaml")
    p.add_argument("--model", default=None, help="default: the config's")
    p.add_argument("--batch-size", type=int, default=None, help="default: the config's")
    p.add_argument("--tasks", default="all", help="where the encoded texts come from")
    p.add_argument("--steps", type=int, default=180)
    p.add_argument("--every", type=int, default=60)
    p.add_argument("--texts", type=int, default=2000)
    p.add_argument("--allocators", default="glibc,jemalloc")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--data-dir", default=os.environ.get("EMBEDTUNE_DATA_DIR"))
    p.add_argument("--output", default=None, help="write all runs here as JSON")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if not args.data_dir:
        raise SystemExit("set --data-dir or EMBEDTUNE_DATA_DIR")
    if args.every < 1 or args.steps % args.every:
        raise SystemExit("--steps must be a positive multiple of --every")
    if args.child:
        child(args)
        return
    preload = {}  # allocator -> shared library to preload ("" for glibc)
    for name in args.allocators.split(","):
        if name not in ALLOCATORS:
            raise SystemExit(f"unknown allocator {name!r}; known: {', '.join(ALLOCATORS)}")
        lib = ALLOCATORS[name]
        preload[name] = ctypes.util.find_library(lib) if lib else ""
        if preload[name] is None:
            raise SystemExit(f"lib{lib} is not installed (for --allocators {name})")
    names = list(preload)
    runs = {name: [] for name in names}
    for r in range(args.repeats):
        for name in names if r % 2 == 0 else reversed(names):
            env = dict(os.environ)
            if preload[name]:
                env["LD_PRELOAD"] = preload[name]  # a soname: the loader finds it
            cmd = [sys.executable, __file__, "--child", *sys.argv[1:]]
            print(f"[{name}, run {r + 1}]", file=sys.stderr, flush=True)
            out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True)
            runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"encode text/s (median of {args.repeats}) after N training steps; train tokens/s")
    for name, rs in runs.items():
        enc, win = medians(rs, "encode_text_per_s"), medians(rs, "train_tokens_per_s")
        print(f"{name:9s} encode " + "  ".join(f"@{k}: {v:.1f}" for k, v in enc.items()))
        print(f"{'':9s} train  " + "  ".join(f"to {k}: {v:.0f}" for k, v in win.items()))
    if args.output:
        Path(args.output).write_text(
            json.dumps({"args": vars(args), "runs": runs}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
