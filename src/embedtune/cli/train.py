"""``embedtune train``: contrastive fine-tuning (LoRA + InfoNCE) from a YAML recipe."""

from __future__ import annotations

import argparse
from pathlib import Path

from embedtune.config import load_config

# CLI flag -> config key, for flags whose value is taken as given
_FLAGS = {
    "model": str,
    "data": str,
    "data_dir": str,
    "output_dir": str,
    "max_steps": int,
    "max_minutes": float,
    "batch_size": int,
    "lr": float,
    "seed": int,
    "dtype": str,
    "log_every": int,
    "eval_every": int,
    "save_every": int,
    "pooling": str,
    "prompt": str,
    "max_length": int,
    "epochs": float,
    "grad_accum": int,
    "warmup_steps": int,
    "eval_tasks": str,
    "keep_checkpoints": int,
    "columns": str,
}


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="fine-tune a model into an embedder", description=__doc__)
    p.add_argument("--config", help="YAML recipe (see configs/); flags override its keys")
    for key, typ in _FLAGS.items():
        p.add_argument("--" + key.replace("_", "-"), type=typ, default=None)
    p.add_argument(
        "--no-hard-negatives",
        action="store_true",
        help="in-batch negatives only (the study's ablation)",
    )
    p.add_argument(
        "--skip-bad-rows", action="store_true", help="skip and count malformed triplet rows"
    )
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument(
        "--full-finetune", action="store_true", help="train every weight instead of a LoRA adapter"
    )
    p.add_argument(
        "--resume", action="store_true", help="continue from the newest complete checkpoint"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from embedtune.training.run import run_training

    overrides = {key: getattr(args, key) for key in _FLAGS}
    overrides["hard_negatives"] = False if args.no_hard_negatives else None
    overrides["skip_bad_rows"] = True if args.skip_bad_rows else None
    overrides["gradient_checkpointing"] = True if args.gradient_checkpointing else None
    overrides["lora"] = False if args.full_finetune else None
    overrides["resume"] = True if args.resume else None
    cfg = load_config(args.config, overrides)
    run_training(cfg)
    print(Path(cfg.output_dir, "report.md").read_text())
    return 0
