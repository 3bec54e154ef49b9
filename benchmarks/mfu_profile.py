"""How close a training step gets to this CPU's limit, and where the rest of the time goes.

1. Peak: the best bf16 matrix-multiply rate measured here (square and model-shaped matmuls).
2. Model FLOPs of one training step, counted by ``torch.utils.flop_counter.FlopCounterMode``
   (forward and backward of every matmul and attention product, on the real batch), counted
   text by text (each text embedded alone and backpropagated), so padding is not counted as
   work; ``computed_tflop`` is what the step as run computed (padding included, or a packed
   row's masked attention).
3. Step time: median over ``--steps`` steps of the real trainer code on real NLI triplets.
   MFU = step FLOPs / step time / peak.
4. A ``torch.profiler`` table of one step: self CPU time per operator, top ``--top``.

    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/mfu_profile.py --batch 32 --steps 8
    ... --pack-tokens 96   # the same with sequence packing (models/packing.py)
    ... --pack-tokens 96 --compile layers   # and compiled layers (models/compiling.py)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch


def matmul_peak(repeats: int = 20) -> dict:
    """Best achieved bf16 matmul FLOP/s over a few shapes (the square one and the model's)."""
    shapes = {"4096x4096x4096": (4096, 4096, 4096), "2048x640x2048": (2048, 640, 2048)}
    out = {}
    for name, (m, k, n) in shapes.items():
        a = torch.randn(m, k, dtype=torch.bfloat16)
        b = torch.randn(k, n, dtype=torch.bfloat16)
        a @ b  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - start)
        out[name] = 2 * m * k * n / min(times)
    return out


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default="gemma3-270m")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--lora-dropout", type=float, default=0.0)
    p.add_argument("--attn", default="eager")
    p.add_argument("--top", type=int, default=15)
    p.add_argument(
        "--compile",
        choices=["layers", "whole"],
        help="layers: the recipe's `compile` (each transformer layer); whole: the whole "
        "backbone (a probe)",
    )
    p.add_argument("--pack-tokens", type=int, default=None, help="train with packed rows")
    p.add_argument(
        "--no-flops", action="store_true", help="time the steps only (no FLOP counts, no MFU)"
    )
    p.add_argument("--data-dir", default=os.environ.get("EMBEDTUNE_DATA_DIR"))
    p.add_argument("--output", default=None)
    args = p.parse_args()
    if not args.data_dir:
        raise SystemExit("set --data-dir or EMBEDTUNE_DATA_DIR")

    from torch.profiler import ProfilerActivity, profile
    from torch.utils.flop_counter import FlopCounterMode

    from embedtune.config import TrainConfig
    from embedtune.data.batching import epoch_batches
    from embedtune.data.triplets import read_triplets
    from embedtune.training.trainer import Trainer

    peaks = matmul_peak()
    peak = max(peaks.values())
    triplets = read_triplets(Path(args.data_dir) / "nli" / "triplets.tsv")
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(
            model=args.model,
            batch_size=args.batch,
            lora_dropout=args.lora_dropout,
            attn_implementation=args.attn,
            pack_tokens=args.pack_tokens,
            compile=args.compile == "layers",
            max_steps=args.steps + 2,
            eval_every=0,
            eval_tasks="",
            output_dir=tmp,
        )
        trainer = Trainer(cfg, triplets)
        trainer.setup()
        trainer.embedder.train()
        if args.compile == "whole":
            trainer.embedder.backbone.compile(dynamic=True)
        batches = epoch_batches(
            trainer.data.lengths, cfg.batch_size, cfg.seed, 0, cfg.group_by_length
        )

        def step(idx):
            trainer.train_step(idx)  # the loop's own step (clip included)
            trainer.state.step += 1

        start = time.perf_counter()
        step(batches[0])  # warm-up (and compilation, with --compile)
        first_step = time.perf_counter() - start
        print(f"first step: {first_step:.1f} s", flush=True)

        def count(work) -> int:
            counter = FlopCounterMode(display=False)
            with counter:
                work()
            return counter.get_total_flops()

        def texts_alone(idx):
            """Each text of the step embedded alone (no padding) and backpropagated."""
            emb = trainer.embedder
            anchors, candidates = trainer.data.texts_of(idx)
            for ids in anchors + candidates:
                emb(emb.collate([ids])).sum().backward()
            trainer.optimizer.zero_grad(set_to_none=True)

        times, flops, computed = [], [], []
        for idx in batches[1 : 1 + args.steps]:
            if not args.no_flops:
                flops.append(count(lambda: texts_alone(idx)))  # noqa: B023 (called at once)
                computed.append(count(lambda: step(idx)))  # noqa: B023
            start = time.perf_counter()  # timed separately: the counter itself costs time
            step(idx)
            times.append(time.perf_counter() - start)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            step(batches[1 + args.steps])
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    top = sorted(events, key=lambda e: -e.self_cpu_time_total)[: args.top]
    sec = statistics.median(times)
    step_flops = statistics.median(flops) if flops else None
    result = {
        "model": args.model,
        "batch": args.batch,
        "threads": torch.get_num_threads(),
        "matmul_peak_tflops": {k: round(v / 1e12, 3) for k, v in peaks.items()},
        "pack_tokens": args.pack_tokens,
        "compile": args.compile,
        "first_step_s": round(first_step, 1),
        "step_tflop": round(step_flops / 1e12, 3) if flops else None,
        "computed_tflop": round(statistics.median(computed) / 1e12, 3) if computed else None,
        "median_step_s": round(sec, 3),
        "achieved_tflops": round(step_flops / sec / 1e12, 3) if flops else None,
        "mfu": round(step_flops / sec / peak, 3) if flops else None,
        "triplets_per_s": round(args.batch / sec, 2),
        "profile_top": [
            {
                "op": e.key,
                "self_cpu_ms": round(e.self_cpu_time_total / 1e3, 1),
                "share": round(e.self_cpu_time_total / total, 3),
            }
            for e in top
        ],
    }
    print("| operator | self CPU ms | share |\n|---|---:|---:|")
    for row in result["profile_top"]:
        print(f"| `{row['op']}` | {row['self_cpu_ms']} | {row['share'] * 100:.1f}% |")
    print(json.dumps({k: v for k, v in result.items() if k != "profile_top"}))
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
