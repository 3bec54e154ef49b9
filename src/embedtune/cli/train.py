"""``embedtune train``: contrastive fine-tuning (LoRA + InfoNCE) from a YAML recipe.

Every key of the recipe is also a flag (``lora_dropout`` -> ``--lora-dropout``; booleans get
``--key`` / ``--no-key``); a flag overrides the recipe, the recipe overrides the defaults.
"""

from __future__ import annotations

import argparse
import typing
from dataclasses import fields
from pathlib import Path

from embedtune.config import TrainConfig, load_config


def _flag_type(hint) -> type:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if args else hint
    return base if base in (int, float) else str


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="fine-tune a model into an embedder", description=__doc__)
    p.add_argument("--config", help="YAML recipe (see configs/); flags override its keys")
    hints = typing.get_type_hints(TrainConfig)
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata.get("help", "")
        if hints[f.name] in (bool, bool | None):
            p.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            p.add_argument(flag, type=_flag_type(hints[f.name]), default=None, help=help_text)
    p.add_argument(
        "--full-finetune", action="store_true", help="train every weight (same as --no-lora)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from embedtune.training.run import run_training

    overrides = {f.name: getattr(args, f.name) for f in fields(TrainConfig)}
    if args.full_finetune:
        overrides["lora"] = False
    cfg = load_config(args.config, overrides)
    from embedtune import parallel

    try:
        run_training(cfg)
        if parallel.is_main():
            print(Path(cfg.output_dir, "report.md").read_text())
    finally:
        parallel.shutdown()
    return 0
