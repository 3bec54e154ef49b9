"""`embedtune train` and `embedtune evaluate` on a GPU, on the real NLI triplets and STS tasks,
for architectures whose trained weights cannot be brought to the machine.

Speed and memory depend on the architecture and the token counts, not on the weight values,
so each model here has random weights in a given architecture and the real tokenizer of a
local model folder (texts tokenize to their real lengths). The scores of these runs mean
nothing and are not reported; the times and memory are those of the real product path
(tokenize once, length-grouped batches, LoRA, InfoNCE with hard negatives, GradCache).

    python benchmarks/gpu_training.py --tokenizer-from ~/.cache/embedtune/models/gemma3-270m \\
        --data-dir ../shared/data --arch gemma3-270m,gemma-2b --steps 20 --out benchmarks/results/gpu

Prints one JSON line per run; ``--out`` keeps each run's metrics, run.json and the summary.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from gpu_throughput import ARCHS


def batch_runs(spec: str) -> list[tuple[str, list[str]]]:
    """'60,512/128' -> the study's batch of 60, then 512 triplets through GradCache in
    mini-batches of 128 texts: (label, flags) per run."""
    runs = []
    for item in spec.split(","):
        batch, _, mini = item.partition("/")
        flags = ["--batch-size", batch] + (["--mini-batch-size", mini] if mini else [])
        runs.append((f"batch-{batch}" + (f"-gradcache-{mini}" if mini else ""), flags))
    return runs


def random_model(arch: str, tokenizer_from: Path, out: Path) -> Path:
    """A model folder with ``arch``'s shape (``tokenizer_from``'s own config for its own
    name), random bf16 weights and ``tokenizer_from``'s tokenizer."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_from)
    if arch in ARCHS:
        spec = dict(ARCHS[arch])
        spec["vocab_size"] = len(tokenizer)  # ids must stay inside the embedding table
        config = AutoConfig.for_model(spec.pop("model_type"), **spec)
        for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
            setattr(config, key, getattr(tokenizer, key))
    else:
        config = AutoConfig.from_pretrained(tokenizer_from)
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def train(model: Path, data_dir: str, flags: list[str], steps: int, out: Path) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "embedtune",
        "train",
        "--model",
        str(model),
        "--data-dir",
        data_dir,
        "--data",
        "nli/triplets.tsv",
        "--max-steps",
        str(steps),
        "--warmup-steps",
        "5",
        "--eval-every",
        "0",
        "--eval-tasks",
        "",
        "--log-every",
        "1",
        "--output-dir",
        str(out),
        *flags,
    ]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "triplets_per_s" in r][3:]  # after warm-up, for both rates
    run = json.loads((out / "run.json").read_text())
    return {
        "device": run["device"],
        "steps": run["steps"],
        "median_triplets_per_s": round(statistics.median(r["triplets_per_s"] for r in steps), 1),
        "tokens_per_s": round(statistics.median(r["tokens_per_s"] for r in steps), 1),
        "train_seconds": run["train_seconds"],
        "wall_seconds_with_load": round(wall, 1),
        "peak_gpu_gib": run["peak_gpu_gib"],
    }


def evaluate(model: Path, data_dir: str, tasks: str) -> dict:
    """Evaluation time on ``tasks`` (fresh process: loading included)."""
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "embedtune", "evaluate", "--model", str(model)]
    cmd += ["--data-dir", data_dir, "--tasks", tasks, "--batch-size", "256"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return {"evaluate_tasks": tasks, "evaluate_seconds": round(time.perf_counter() - start, 1)}


def _record(out: Path, result: dict) -> None:
    print(json.dumps(result), flush=True)
    with (out / "summary.jsonl").open("a") as f:
        f.write(json.dumps(result) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--tokenizer-from", required=True, type=Path)
    p.add_argument("--data-dir", default=os.environ.get("EMBEDTUNE_DATA_DIR"))
    p.add_argument(
        "--arch",
        default="gemma3-270m,gemma-2b",
        help=f"comma-separated: the tokenizer folder's own model, or one of {sorted(ARCHS)}",
    )
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batches", default="60,512/128", help="runs: batch[/GradCache mini-batch]")
    p.add_argument("--tasks", default="all", help="STS tasks to time evaluation on ('' skips)")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/gpu"))
    p.add_argument("--work", type=Path, default=Path("/tmp/embedtune-gpu"))
    args = p.parse_args()
    if not args.data_dir:
        p.error("--data-dir (or EMBEDTUNE_DATA_DIR) is required")
    args.out.mkdir(parents=True, exist_ok=True)
    for arch in args.arch.split(","):
        model = random_model(arch, args.tokenizer_from, args.work / arch / "model")
        if args.tasks:
            _record(args.out, {"arch": arch, **evaluate(model, args.data_dir, args.tasks)})
        for label, flags in batch_runs(args.batches):
            run_dir = args.work / arch / label
            result = train(model, args.data_dir, flags, args.steps, run_dir)
            _record(args.out, {"arch": arch, "run": label, **result})
            shutil.copy(run_dir / "metrics.jsonl", args.out / f"{arch}-{label}-metrics.jsonl")
        shutil.rmtree(args.work / arch)


if __name__ == "__main__":
    main()
