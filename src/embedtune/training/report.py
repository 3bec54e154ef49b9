"""How a run is shown to people: the report.md text, the learning-curve plot, and the versions
recorded in run.json (``outputs.py`` decides what is written when)."""

from __future__ import annotations

import json
import platform
import re
import sys
from pathlib import Path

from embedtune.evaluation.report import before_after_table, results_table
from embedtune.training.evaluations import dev_score, metric_name


def versions() -> dict[str, str]:
    import peft
    import torch
    import transformers

    import embedtune

    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "embedtune": embedtune.__version__,
        "platform": platform.platform(),
        "cpu_threads": str(torch.get_num_threads()),
        "cpu": cpu_description(),
    }


def cpu_description(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU's model name and its bf16 matrix features: on CPU, whether ``avx512_bf16`` or
    AMX is there decides a step's speed several-fold, so a run's timings name them."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return platform.processor() or "unknown"
    name = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    flags = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
    have = set(flags.group(1).split()) if flags else set()
    bf16 = [f for f in ("avx512_bf16", "amx_bf16") if f in have]
    return f"{name.group(1).strip() if name else 'unknown'} ({', '.join(bf16) or 'no bf16 matmul'})"


def plot_learning_curve(eval_history: list[dict], path: Path, title: str) -> bool:
    """The dev score (Spearman, or nDCG@10) against step; False when there is nothing to plot."""
    if not eval_history:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [e["step"] for e in eval_history]
    scores = [dev_score(e) for e in eval_history]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    ax.plot(steps, scores, marker="o")
    ax.set_xlabel("step")
    ax.set_ylabel(f"{eval_history[0]['task']} {metric_name(eval_history[0])} x100")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def write_report(out: Path, report: dict) -> None:
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [f"# {report['model']}: before and after contrastive fine-tuning", ""]
    lines.append(
        f"Data: {report['data']} ({report['train_triplets']} triplets), {report['steps']} steps, "
        f"{report['train_seconds'] / 60:.1f} min of training."
    )
    if report.get("before") and report.get("after"):
        lines += ["", before_after_table(report["before"], report["after"])]
    elif report.get("after"):
        lines += ["", results_table(report["after"])]
    if report.get("best"):
        b = report["best"]
        lines += ["", f"Best {b['task']}: {metric_name(b)} {dev_score(b):.2f} at step {b['step']}."]
    if (out / "learning_curve.png").is_file():
        lines += ["", "![learning curve](learning_curve.png)"]
    (out / "report.md").write_text("\n".join(lines) + "\n")
