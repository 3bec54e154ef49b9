"""Peak memory and time of GradCache on gemma3-270m.

Memory: a 512-triplet contrastive batch embedded 32 (or 96) texts at a time against a plain
32-triplet batch. Time: the overhead of caching itself, GradCache on a 128-triplet batch in
mini-batches of 32 texts against the plain 128-triplet batch (same loss, same gradient), timed
on the last of three steps (the first steps of a process pay one-off kernel set-up for each
new shape).

Each configuration trains a few steps in a fresh process on real NLI triplets (random
batches, so lengths are typical) and reports its peak RSS (the whole process: weights,
libraries and activations) and the growth of RSS above what it held before the first step
(activations, gradients, optimizer state), plus seconds per triplet. Repeats alternate the
configurations; medians are reported.

    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/gradcache_memory.py --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# name: (batch, mini_batch or None, steps, runs at most)
CONFIGS = {
    "plain-32": (32, None, 3, 3),
    "gradcache-512-mini-32": (512, 32, 1, 3),
    "gradcache-512-mini-96": (512, 96, 1, 1),
    "plain-128": (128, None, 3, 2),
    "gradcache-128-mini-32": (128, 32, 3, 2),
}
TIME_PAIR = ("plain-128", "gradcache-128-mini-32")


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker(args) -> dict:

    from embedtune.config import TrainConfig
    from embedtune.data.triplets import read_triplets
    from embedtune.training.model import build_embedder
    from embedtune.training.trainer import Trainer

    batch, mini, steps, _ = CONFIGS[args.worker]
    triplets = read_triplets(Path(args.data_dir) / "nli" / "triplets.tsv").sample(512 * 2, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(
            model="gemma3-270m",
            batch_size=batch,
            mini_batch_size=mini,
            max_steps=steps,
            warmup_steps=0,
            group_by_length=False,
            lora_dropout=0.0,
            attn_implementation="eager",
            eval_every=0,
            save_every=0,
            log_every=1,
            output_dir=tmp,
        )
        embedder = build_embedder(cfg)
        before = rss_mib()
        trainer = Trainer(cfg, triplets, embedder=embedder)
        start = time.perf_counter()
        report = trainer.train()
        wall = time.perf_counter() - start
        rows = [json.loads(x) for x in (Path(tmp) / "metrics.jsonl").read_text().splitlines()]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    per_step = [
        b["train_seconds"] - a["train_seconds"] for a, b in zip([{"train_seconds": 0}] + rows, rows)
    ]
    return {
        "config": args.worker,
        "batch": batch,
        "mini_batch": mini,
        "steps": report["steps"],
        "peak_rss_mib": round(peak, 1),
        "rss_before_mib": round(before, 1),
        "growth_mib": round(peak - before, 1),
        # the last step: the first one of plain-32 also pays one-off allocations
        "seconds_per_triplet": round(per_step[-1] / batch, 4),
        "wall_seconds": round(wall, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data-dir", default=os.environ.get("EMBEDTUNE_DATA_DIR"))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--configs", default=",".join(CONFIGS))
    p.add_argument("--output", default=None)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if not args.data_dir:
        raise SystemExit("set --data-dir or EMBEDTUNE_DATA_DIR")
    if args.worker:
        print(json.dumps(worker(args)))
        return
    names = args.configs.split(",")
    results: dict[str, list[dict]] = {n: [] for n in names}
    for rep in range(args.repeats):
        for name in names:
            if rep >= CONFIGS[name][3]:
                continue
            cmd = [sys.executable, __file__, "--worker", name, "--data-dir", str(args.data_dir)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                sys.stderr.write(proc.stderr[-5000:])
                raise SystemExit(f"{name} failed (exit {proc.returncode})")
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            results[name].append(r)
            print(json.dumps(r), flush=True)
    base = statistics.median(r["peak_rss_mib"] for r in results["plain-32"])
    base_growth = statistics.median(r["growth_mib"] for r in results["plain-32"])
    time_base = {
        n: statistics.median(r["seconds_per_triplet"] for r in results[n])
        for n in TIME_PAIR
        if results.get(n)
    }
    summary = {}
    for name, rs in results.items():
        peak = statistics.median(r["peak_rss_mib"] for r in rs)
        growth = statistics.median(r["growth_mib"] for r in rs)
        spt = statistics.median(r["seconds_per_triplet"] for r in rs)
        summary[name] = {
            "runs": len(rs),
            "peak_rss_mib": peak,
            "peak_vs_plain_32": round(peak / base, 3),
            "growth_mib": growth,
            "growth_vs_plain_32": round(growth / base_growth, 3),
            "seconds_per_triplet": spt,
        }
        print(
            f"{name:24s} peak {peak:8.0f} MiB ({peak / base:.2f}x)  growth {growth:7.0f} MiB "
            f"({growth / base_growth:.2f}x)  {spt * 1000:.0f} ms/triplet",
            flush=True,
        )
    if len(time_base) == 2:
        plain, cached = (time_base[n] for n in TIME_PAIR)
        summary["caching_time_overhead"] = round(cached / plain, 3)
        print(
            f"GradCache time overhead (128 triplets, mini-batch 32 vs plain): {cached / plain:.2f}x"
        )
    if args.output:
        Path(args.output).write_text(
            json.dumps({"summary": summary, "runs": results}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
