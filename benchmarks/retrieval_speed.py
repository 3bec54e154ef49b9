"""Time ``embedtune evaluate`` on a retrieval task end to end, then again with the corpus
embeddings cached (the issue: the second evaluation should take a small fraction).

Each evaluation is a fresh process (model loading included) against a corpus cache of its
own (a temporary ``$EMBEDTUNE_CACHE/corpus``; the named models still load from the usual
cache). Pairs alternate: cold (empty corpus cache), then warm (the cold run's entry).

    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/retrieval_speed.py --model minilm-l6 \\
        --task scifact --pairs 2 --dtype fp32 --output benchmarks/results/retrieval/speed-minilm-l6.json
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
import time
from pathlib import Path


def _evaluate(args, out: Path, corpus_cache: Path) -> dict:
    env = dict(os.environ)
    models = Path(env.get("EMBEDTUNE_CACHE", Path.home() / ".cache" / "embedtune")) / "models"
    root = corpus_cache.parent
    (root / "models").exists() or (root / "models").symlink_to(models)
    env["EMBEDTUNE_CACHE"] = str(root)
    cmd = [sys.executable, "-m", "embedtune", "evaluate", "--model", args.model]
    cmd += ["--dtype", args.dtype, "--tasks", args.task, "--output", str(out)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    scores = json.loads(out.read_text())["tasks"][args.task]
    return {
        "wall_s": round(wall, 1),
        **{
            k: scores[k]
            for k in ("ndcg_at_10", "documents", "corpus_from_cache", "corpus_seconds", "seconds")
        },
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default="minilm-l6")
    p.add_argument("--task", default="scifact")
    p.add_argument("--pairs", type=int, default=2)
    p.add_argument("--dtype", default="fp32")
    p.add_argument("--output", help="write every run as JSON here")
    args = p.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp, "cache", "corpus")
        for i in range(args.pairs):
            shutil.rmtree(cache, ignore_errors=True)
            cache.parent.mkdir(parents=True, exist_ok=True)
            for kind in ("cold", "warm"):
                r = {"pair": i + 1, "kind": kind, **_evaluate(args, Path(tmp, "r.json"), cache)}
                r["documents_per_s"] = round(r["documents"] / r["corpus_seconds"], 1)
                runs.append(r)
                print(json.dumps(r), flush=True)
    med = {
        kind: statistics.median(r["wall_s"] for r in runs if r["kind"] == kind)
        for kind in ("cold", "warm")
    }
    docs_s = statistics.median(r["documents_per_s"] for r in runs if r["kind"] == "cold")
    print(
        f"model={args.model} task={args.task} dtype={args.dtype} pairs={args.pairs} "
        f"cold_median_s={med['cold']} warm_median_s={med['warm']} "
        f"warm/cold={med['warm'] / med['cold']:.3f} cold_documents_per_s={docs_s}"
    )
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        summary = {
            "args": vars(args),
            "runs": runs,
            "median_wall_s": med,
            "cold_documents_per_s": docs_s,
        }
        Path(args.output).write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
