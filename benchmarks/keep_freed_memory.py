"""Training speed with glibc's defaults against embedtune's allocator setting (embedtune/allocator.py).

Each run is a fresh ``embedtune train`` process (the setting is per process), the two arms
alternating (keep, default, default, keep, ...), each timed by the trainer (``train_seconds``
in report.json: the steps only, not loading) with its peak resident memory from ``wait4``.
Recipes: ``scifact`` (configs/scifact-gemma3-270m.yaml on the mined SciFact triplets: 256-token
abstracts, where glibc ``mmap``s each large activation) and ``sts`` (the headline recipe,
configs/cpu-gemma3-270m.yaml: NLI sentences, small activations). The scifact recipe reads the
triplets benchmarks/retrieval_finetune.sh mines (runs/mined/scifact-minilm-l6.jsonl).

    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/keep_freed_memory.py --recipe scifact \
        --steps 4 --batch-size 16 --pairs 3 --output benchmarks/results/keep-freed-memory/scifact.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from embedtune.allocator import ENV

ROOT = Path(__file__).resolve().parents[1]
RECIPES = {
    "scifact": [
        "--config", "configs/scifact-gemma3-270m.yaml",
        "--data", "runs/mined/scifact-minilm-l6.jsonl", "--dev-task", "retrieval/scifact:train",
    ],
    "sts": [
        "--config", "configs/cpu-gemma3-270m.yaml", "--eval-tasks", "",
        "--pack-tokens", "0", "--no-compile",  # the padded, uncompiled step it measured
    ],
}  # fmt: skip


def one_run(flags: list[str], keep: bool) -> dict:
    out = Path(tempfile.mkdtemp(prefix="keep-freed-"))
    embedtune = str(Path(sys.executable).with_name("embedtune"))
    cmd = [embedtune, "train", *flags, "--eval-every", "0", "--no-eval-before"]
    cmd += ["--output-dir", str(out)]
    env = dict(os.environ, **{ENV: "1" if keep else "0"})
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise SystemExit(f"{' '.join(cmd)} failed ({status})")
    report = json.loads((out / "report.json").read_text())
    shutil.rmtree(out)
    steps = report["steps"]
    return {
        "keep": keep,
        "steps": steps,
        "train_seconds": report["train_seconds"],
        "seconds_per_step": round(report["train_seconds"] / steps, 2),
        "max_rss_gib": round(usage.ru_maxrss / 2**20, 2),
        "minor_faults": usage.ru_minflt,
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--recipe", choices=list(RECIPES), default="scifact")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=None, help="default: the recipe's")
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--output", default=None, help="write every run here as JSON")
    args = p.parse_args()
    if not os.environ.get("EMBEDTUNE_DATA_DIR"):
        raise SystemExit("set EMBEDTUNE_DATA_DIR to the data folder")
    flags = RECIPES[args.recipe] + ["--max-steps", str(args.steps)]
    if args.batch_size:
        flags += ["--batch-size", str(args.batch_size)]
    runs = []
    for i in range(args.pairs):
        for keep in (True, False) if i % 2 == 0 else (False, True):
            runs.append(one_run(flags, keep))
            print(json.dumps(runs[-1]), flush=True)
    rows = {}
    for keep in (False, True):
        arm = [r for r in runs if r["keep"] is keep]
        rows[keep] = {k: statistics.median(r[k] for r in arm) for k in arm[0] if k != "keep"}
    print(f"median of {args.pairs}: s/step default {rows[False]['seconds_per_step']}, kept "
          f"{rows[True]['seconds_per_step']} (speed-up "
          f"{rows[False]['seconds_per_step'] / rows[True]['seconds_per_step']:.2f}x); peak RSS GiB "
          f"{rows[False]['max_rss_gib']} / {rows[True]['max_rss_gib']}")  # fmt: skip
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(
            json.dumps({"args": vars(args), "runs": runs, "medians": rows}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
