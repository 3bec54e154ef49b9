"""Turning evaluation results into the tables people read: Markdown, and before/after."""

from __future__ import annotations

from embedtune.data.sts import TASKS


def _name(key: str) -> str:
    return TASKS[key].name if key in TASKS else key


def results_table(result: dict) -> str:
    """One evaluation as a Markdown table: task, Spearman, Pearson, pairs."""
    lines = ["| task | Spearman | Pearson | pairs |", "|---|---:|---:|---:|"]
    for key, r in result["tasks"].items():
        lines.append(f"| {_name(key)} | {r['spearman']:.2f} | {r['pearson']:.2f} | {r['n']} |")
    lines.append(f"| **average +- std** | **{result['average']:.2f} +- {result['std']:.2f}** | | |")
    return "\n".join(lines)


def before_after_table(before: dict, after: dict) -> str:
    """Two evaluations side by side with the gain (the study's Table 2 layout)."""
    lines = ["| task | before | after | gain |", "|---|---:|---:|---:|"]
    for key, a in after["tasks"].items():
        b = before["tasks"].get(key)
        if b is None:
            continue
        lines.append(
            f"| {_name(key)} | {b['spearman']:.2f} | {a['spearman']:.2f} | "
            f"{a['spearman'] - b['spearman']:+.2f} |"
        )
    lines.append(
        f"| **average +- std** | {before['average']:.2f} +- {before['std']:.2f} | "
        f"{after['average']:.2f} +- {after['std']:.2f} | {after['average'] - before['average']:+.2f} |"
    )
    return "\n".join(lines)
