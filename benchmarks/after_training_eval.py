"""Is the evaluation after training as fast as a fresh `embedtune evaluate` of the same model?

In one training process (the headline recipe, shortened), three evaluations of the final
model on the same tasks, each timed by the evaluator itself (encode + score, model loading
excluded), one after the other:

- ``child``: what `embedtune train` now does after training: a spawned child process loads
  ``final/`` and scores it (`eval_in_subprocess`, the default);
- ``in_process``: the old way, scoring the trained embedder inside the training process;
- ``fresh``: `embedtune evaluate --model RUN/final` in a new process, the reference.

Repeated ``--repeats`` times (a new training each time); prints medians and the ratios to
``fresh``, and writes benchmarks/results/after-training-eval/<name>.json.

    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/after_training_eval.py \\
        --steps 40 --tasks stsb,sts13 --repeats 3 --dtype fp32
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).parent / "results" / "after-training-eval"


def one_repeat(args, out: Path) -> dict:
    from embedtune.config import load_config
    from embedtune.data.triplets import read_triplets
    from embedtune.evaluation.run import load_tasks
    from embedtune.evaluation.sts import evaluate_sts
    from embedtune.training.run import resolve_data_path
    from embedtune.training.trainer import Trainer

    overrides = {
        "max_steps": args.steps,
        "eval_tasks": args.tasks,
        "eval_before": False,
        "eval_every": 0,
        "save_every": 0,
        "max_minutes": 600.0,
        "dtype": args.dtype,
        "output_dir": str(out),
        "eval_in_subprocess": True,
    }
    cfg = load_config(args.config, overrides)
    tasks = load_tasks(args.tasks, args.data_dir)
    triplets = read_triplets(resolve_data_path(cfg.data, args.data_dir))
    trainer = Trainer(cfg, triplets, final_tasks=tasks)
    child = trainer.train()["after"]
    in_process = evaluate_sts(trainer.embedder, tasks, batch_size=cfg.eval_batch_size)
    fresh_json = out / "fresh.json"
    cmd = [sys.executable, "-m", "embedtune", "evaluate", "--model", str(out / "final")]
    cmd += ["--tasks", args.tasks, "--dtype", args.dtype, "--batch-size", str(cfg.eval_batch_size)]
    cmd += ["--output", str(fresh_json), "--device", "cpu"]
    if cfg.attn_implementation:
        cmd += ["--attn-implementation", cfg.attn_implementation]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    fresh = json.loads(fresh_json.read_text())
    runs = {"child": child, "in_process": in_process, "fresh": fresh}
    return {
        "seconds": {k: r["seconds"] for k, r in runs.items()},
        "texts_per_s": {k: round(r["sentences"] / r["seconds"], 1) for k, r in runs.items()},
        "average": {k: round(r["average"], 4) for k, r in runs.items()},
        "train_seconds": trainer.state.train_seconds,
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--config", default="configs/cpu-gemma3-270m.yaml")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--tasks", default="stsb,sts13")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--dtype", default="bf16")
    p.add_argument("--data-dir", default=os.environ.get("EMBEDTUNE_DATA_DIR"))
    p.add_argument("--runs-dir", default="runs/after-training-eval")
    p.add_argument("--name", default="results")
    args = p.parse_args()
    if not args.data_dir:
        raise SystemExit("set --data-dir or EMBEDTUNE_DATA_DIR")
    repeats = []
    for i in range(args.repeats):
        out = Path(args.runs_dir) / f"repeat-{i}"
        if out.exists():
            import shutil

            shutil.rmtree(out)
        repeats.append(one_repeat(args, out))
        print(json.dumps(repeats[-1]), flush=True)
    kinds = ("child", "in_process", "fresh")
    median = {k: statistics.median(r["seconds"][k] for r in repeats) for k in kinds}
    ratio = {
        k: statistics.median(r["seconds"][k] / r["seconds"]["fresh"] for r in repeats)
        for k in kinds
    }
    summary = {
        "argv": sys.argv,
        "repeats": repeats,
        "median_seconds": median,
        "median_ratio_to_fresh": ratio,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{args.name}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("| evaluation of final/ | median seconds | median ratio to fresh |\n|---|---:|---:|")
    for k in kinds:
        print(f"| {k} | {median[k]:.1f} | {ratio[k]:.2f} |")


if __name__ == "__main__":
    main()
