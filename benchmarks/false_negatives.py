"""Does masking false negatives change training? The headline recipe twice, same seed and
steps, with and without `mask_false_negatives`, scored on STS-B dev along the way (the
paired run the defects issue asks for; model selection data only, no test sets).

    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/false_negatives.py --steps 120
    # the grid's minilm-l6 run instead (CPUs without bf16 matmuls train gemma3-270m slowly):
    ... false_negatives.py --steps 360 --eval-every 60 --extra "--model minilm-l6 \
        --full-finetune --pooling mean --lr 2e-5 --attn-implementation sdpa --dtype fp32"

Writes benchmarks/results/false-negatives/summary.json and prints the dev curves side by
side and how many candidates were masked.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).parent / "results" / "false-negatives"


def _run(mask: bool, steps: int, every: int, runs: Path, extra: list[str]) -> dict:
    out = runs / ("masked" if mask else "unmasked")
    if not (out / "report.json").is_file():
        cmd = [
            sys.executable,
            "-m",
            "embedtune",
            "train",
            "--config",
            "configs/cpu-gemma3-270m.yaml",
        ]
        cmd += ["--max-steps", str(steps), "--eval-every", str(every), "--eval-tasks", ""]
        cmd += ["--save-every", "0", "--max-minutes", "600", "--output-dir", str(out)]
        cmd += ["--mask-false-negatives" if mask else "--no-mask-false-negatives", *extra]
        subprocess.run(cmd, check=True)
    report = json.loads((out / "report.json").read_text())
    rows = [json.loads(r) for r in (out / "metrics.jsonl").read_text().splitlines()]
    return {
        "mask_false_negatives": mask,
        "steps": report["steps"],
        "train_seconds": report["train_seconds"],
        "dev_curve": {e["step"]: e["spearman"] for e in report["eval_history"]},
        "masked_candidates": sum(r.get("masked", 0) for r in rows),
        "final_loss": [r["loss"] for r in rows if "loss" in r][-1],
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--steps", type=int, default=120)
    p.add_argument("--eval-every", type=int, default=40)
    p.add_argument("--runs-dir", default="runs/false-negatives")
    p.add_argument("--extra", default="", help="more `embedtune train` flags, for both runs")
    args = p.parse_args()
    extra = shlex.split(args.extra)
    runs = Path(args.runs_dir)
    results = [_run(m, args.steps, args.eval_every, runs, extra) for m in (True, False)]
    OUT.mkdir(parents=True, exist_ok=True)
    name = "summary.json" if not extra else "summary-" + runs.name + ".json"
    (OUT / name).write_text(json.dumps({"argv": sys.argv, "runs": results}, indent=2) + "\n")
    on, off = results
    print("| step | STS-B dev, masked | unmasked | difference |\n|---:|---:|---:|---:|")
    for step, score in on["dev_curve"].items():
        other = off["dev_curve"].get(step)
        diff = f"{score - other:+.2f}" if other is not None else ""
        print(f"| {step} | {score:.2f} | {other if other is None else f'{other:.2f}'} | {diff} |")
    print(
        f"masked candidates over {on['steps']} steps: {on['masked_candidates']}; "
        f"training minutes {on['train_seconds'] / 60:.1f} / {off['train_seconds'] / 60:.1f}"
    )


if __name__ == "__main__":
    main()
