"""Where a GPU training step's time goes: per-step times of the real trainer step (forward,
InfoNCE, backward, clip, AdamW) on real NLI triplets, then a torch.profiler table of three
steps (self CPU time and self CUDA time per operator).

The model has random weights in the architecture of ``--tokenizer-from`` (or one of
gpu_throughput.py's), since trained weights cannot be brought to a GPU machine here; step
times do not depend on weight values. ``--cudnn-attention on`` turns cuDNN's attention back
on after embedtune turned it off, for the A/B in benchmarks/RESULTS.md ("GPU"):

    python benchmarks/gpu_step_profile.py --tokenizer-from ~/.cache/embedtune/models/gemma3-270m \\
        --data ../shared/data/nli/triplets.tsv --cudnn-attention off --no-profile
    python benchmarks/gpu_step_profile.py ... --cudnn-attention on --no-profile
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from gpu_training import random_model
from torch.profiler import ProfilerActivity, profile

from embedtune.config import TrainConfig
from embedtune.data.batching import epoch_batches
from embedtune.data.triplets import read_triplets
from embedtune.training.trainer import Trainer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--tokenizer-from", required=True, type=Path)
    p.add_argument("--data", required=True, help="triplet file, e.g. nli/triplets.tsv")
    p.add_argument("--arch", default="gemma3-270m")
    p.add_argument("--batch", type=int, default=60)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--cudnn-attention", choices=["on", "off"], default="off")
    p.add_argument("--no-profile", action="store_true")
    p.add_argument("--work", type=Path, default=Path("/tmp/embedtune-gpu-profile"))
    args = p.parse_args()

    model = args.work / "model"
    if not (model / "config.json").exists():
        random_model(args.arch, args.tokenizer_from, model)
    cfg = TrainConfig(
        model=str(model),
        output_dir=str(args.work / "run"),
        batch_size=args.batch,
        eval_every=0,
        eval_tasks="",
        max_steps=args.steps,
    )
    trainer = Trainer(cfg, read_triplets(args.data))
    trainer.setup()  # picks the device (and turns cuDNN attention off on a GPU)
    if trainer.device.type == "cuda":
        torch.backends.cuda.enable_cudnn_sdp(args.cudnn_attention == "on")
        print("cuDNN attention enabled:", torch.backends.cuda.cudnn_sdp_enabled(), flush=True)
    batches = epoch_batches(trainer.data.lengths, args.batch, 0, 0, True)
    sync = torch.cuda.synchronize if trainer.device.type == "cuda" else (lambda: None)

    trainer.embedder.train()

    def step(batch: list[int]) -> int:
        _, tokens, _ = trainer.train_step(batch)  # the loop's own step
        trainer.state.step += 1
        return tokens

    times = []
    for i, batch in enumerate(batches[: args.steps]):
        sync()
        start = time.perf_counter()
        tokens = step(batch)
        sync()
        times.append(time.perf_counter() - start)
        longest = max(len(trainer.data.anchors[j]) for j in batch)
        print(f"step {i}: {times[-1] * 1e3:.0f} ms, {tokens} tokens, longest anchor {longest}")
    print(
        f"median ms {statistics.median(times[3:]) * 1e3:.1f} (steps 3+), "
        f"all {len(times)} steps {sum(times) * 1e3:.0f} ms",
        flush=True,
    )
    if args.no_profile:
        return
    activities = [ProfilerActivity.CPU]
    if trainer.device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        for batch in batches[args.steps : args.steps + 3]:
            step(batch)
        sync()
    table = prof.key_averages()
    print(table.table(sort_by="self_cpu_time_total", row_limit=18))
    if trainer.device.type == "cuda":
        print(table.table(sort_by="self_cuda_time_total", row_limit=12))


if __name__ == "__main__":
    main()
