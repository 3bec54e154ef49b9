"""Time ``embedtune evaluate`` on all nine STS tasks (the issue's goal: minilm-l6 under 3 minutes
on a 2-core CPU). Each run is a fresh process, so model loading is included; prints the
median of the runs and the scores of the last one.

    python benchmarks/eval_speed.py --model minilm-l6 --runs 3 --dtype fp32
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="minilm-l6")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--dtype", default="fp32")
    p.add_argument("--tasks", default="all")
    args = p.parse_args()
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.json")
        for i in range(args.runs):
            cmd = [
                sys.executable,
                "-m",
                "embedtune",
                "evaluate",
                "--model",
                args.model,
                "--dtype",
                args.dtype,
                "--tasks",
                args.tasks,
                "--output",
                out,
            ]
            start = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
            print(f"run {i + 1}: {times[-1]:.1f} s", flush=True)
        result = json.load(open(out))
    print(
        f"model={args.model} dtype={args.dtype} runs={args.runs} median_s={statistics.median(times):.1f} "
        f"min_s={min(times):.1f} max_s={max(times):.1f} average={result['average']:.2f} sentences={result['sentences']}"
    )


if __name__ == "__main__":
    main()
