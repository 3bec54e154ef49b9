"""bf16 (the default) against fp32 for encoding: speed and the nine-task average.

Speed: ``--pairs`` alternating fresh-process runs (bf16, fp32, bf16, fp32, ...) that encode the
first ``--n`` distinct STS sentences after a short warm-up; the ratio of medians. Accuracy: one
``embedtune evaluate --tasks all`` in each precision (its own timing is reported too).

    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/precision.py --model runs/cpu-gemma3-270m/final
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def worker(args) -> None:
    sys.path.insert(0, str(HERE))
    from compare_sentence_transformers import sts_sentences

    from embedtune.models.embedder import Embedder

    texts = sts_sentences(Path(args.data_dir), args.n)
    emb = Embedder.load(args.model, dtype=args.worker)
    emb.encode(texts[:64])  # warm-up
    start = time.perf_counter()
    emb.encode(texts, batch_size=args.batch_size)
    print(
        json.dumps(
            {"dtype": args.worker, "sentences_per_s": len(texts) / (time.perf_counter() - start)}
        )
    )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default="gemma3-270m")
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--n", type=int, default=1000, help="sentences per speed run")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--no-accuracy", action="store_true", help="skip the two nine-task evaluations")
    p.add_argument("--data-dir", default=os.environ.get("EMBEDTUNE_DATA_DIR"))
    p.add_argument("--output", default=None, help="JSON summary; evaluations go next to it")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if not args.data_dir:
        raise SystemExit("set --data-dir or EMBEDTUNE_DATA_DIR")
    if args.worker:
        worker(args)
        return
    speeds: dict[str, list[float]] = {"bf16": [], "fp32": []}
    for pair in range(args.pairs):
        for dtype in speeds:
            cmd = [sys.executable, __file__, "--worker", dtype, "--model", args.model]
            cmd += [
                "--n",
                str(args.n),
                "--batch-size",
                str(args.batch_size),
                "--data-dir",
                args.data_dir,
            ]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode:
                sys.stderr.write(out.stderr[-4000:])
                raise SystemExit(f"{dtype} speed run failed")
            speeds[dtype].append(json.loads(out.stdout.strip().splitlines()[-1])["sentences_per_s"])
            print(f"pair {pair + 1} {dtype}: {speeds[dtype][-1]:.1f} sentences/s", flush=True)
    med = {k: statistics.median(v) for k, v in speeds.items()}
    summary = {
        "model": args.model,
        "n": args.n,
        "speeds": speeds,
        "median": med,
        "speed_ratio": med["bf16"] / med["fp32"],
    }
    print(
        f"median: bf16 {med['bf16']:.1f}/s, fp32 {med['fp32']:.1f}/s, ratio {summary['speed_ratio']:.2f}x"
    )
    if not args.no_accuracy:
        folder = Path(args.output).parent if args.output else Path(".")
        for dtype in speeds:
            path = folder / f"precision-{dtype}.json"
            cmd = [sys.executable, "-m", "embedtune", "evaluate", "--model", args.model]
            cmd += [
                "--dtype",
                dtype,
                "--tasks",
                "all",
                "--data-dir",
                args.data_dir,
                "--output",
                str(path),
            ]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            r = json.loads(path.read_text())
            summary[dtype] = {"average": r["average"], "seconds": r["seconds"]}
            print(
                f"nine tasks, {dtype}: average {r['average']:.2f} in {r['seconds']:.0f} s",
                flush=True,
            )
        diff = summary["bf16"]["average"] - summary["fp32"]["average"]
        summary["average_difference"] = diff
        print(f"bf16 - fp32 nine-task average: {diff:+.3f}")
    if args.output:
        Path(args.output).write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
