"""The newcomer's first command: measure a real small LM, fine-tune it for a few minutes,
measure again. Data: the local data directory if given, else the Hub if reachable, else the
demo set shipped inside the package."""

from __future__ import annotations

import json
import os
from pathlib import Path

from embedtune.config import TrainConfig
from embedtune.data.demo import demo_sts, demo_triplets
from embedtune.data.sts import DATA_DIR_ENV, data_root, load_task
from embedtune.data.triplets import read_triplets
from embedtune.evaluation.report import before_after_table
from embedtune.training.trainer import Trainer

DEMO_NOTE = (
    "demo-set scores are a demonstration that training works, not a benchmark; "
    f"the benchmark numbers come from the real STS data (--data-dir or {DATA_DIR_ENV})"
)
HUB_TRIPLETS = "sentence-transformers/all-nli"


def hub_reachable(timeout: float = 5.0) -> bool:
    """True when the Hub answers and `datasets` is installed (quick check, no download)."""
    if os.environ.get("HF_HUB_OFFLINE") or os.environ.get("HF_DATASETS_OFFLINE"):
        return False
    try:
        import datasets  # noqa: F401
        from huggingface_hub import HfApi

        HfApi().dataset_info(HUB_TRIPLETS, timeout=timeout)
        return True
    except Exception:
        return False


def choose_data(data_dir: str | None, hub_limit: int = 20_000):
    """(label, triplets, eval task, dev task) in the order: local, Hub, demo."""
    root = data_root(data_dir)
    if root is not None:
        return (
            "local",
            read_triplets(root / "nli" / "triplets.tsv"),
            load_task("stsb", root),
            load_task("stsb-dev", root),
        )
    if hub_reachable():
        triplets = read_triplets(HUB_TRIPLETS, hub_config="triplet", split=f"train[:{hub_limit}]")
        return "hub", triplets, load_task("stsb"), load_task("stsb-dev")
    return "demo", demo_triplets(), demo_sts(), None


def quickstart(
    data_dir: str | None = None,
    minutes: float = 4.0,
    output_dir: str = "runs/quickstart",
    model: str = "gemma3-270m",
    steps: int = 120,
    batch_size: int = 16,
    lr: float = 2e-4,
) -> dict:
    label, triplets, task, dev = choose_data(data_dir)
    where = {
        "local": f"local data ({triplets.source})",
        "hub": f"Hub data ({HUB_TRIPLETS})",
        "demo": "the embedded demo set (no data directory, no Hub)",
    }[label]
    print(f"[embedtune] quickstart: {model}, data from {where}", flush=True)
    if label == "demo":
        print(f"[embedtune] note: {DEMO_NOTE}", flush=True)
    cfg = TrainConfig(
        model=model,
        output_dir=output_dir,
        batch_size=batch_size,
        lr=lr,
        warmup_steps=max(1, steps // 10),
        max_steps=steps,
        max_minutes=minutes,
        eval_every=max(1, steps // 4),
        log_every=10,
        dtype="bf16",
        max_length=64,
        eval_tasks="",
    )
    # the demo set has no separate dev split: its curve is drawn on the demo pairs themselves
    trainer = Trainer(
        cfg, triplets, dev=dev if dev is not None else task, final_tasks=[task], data_label=label
    )
    report = trainer.train()
    before, after = report["before"], report["after"]
    print(
        f"\n{model} on {task.name}, before and after {report['steps']} steps "
        f"({report['train_seconds'] / 60:.1f} min of training):\n"
    )
    print(before_after_table(before, after))
    if label == "demo":
        print(f"\nNote: {DEMO_NOTE}.")
    summary = {
        "data": label,
        "before": before,
        "after": after,
        "steps": report["steps"],
        "train_seconds": report["train_seconds"],
        "model": model,
    }
    Path(output_dir, "report.json").write_text(json.dumps({**report, **summary}, indent=2) + "\n")
    print(
        f"\nreport, learning curve and adapter in {output_dir}/ (report.md, learning_curve.png, final/)"
    )
    return summary
