"""Turning evaluation results into the tables people read: Markdown, and before/after."""

from __future__ import annotations

from embedtune.data.beir import RETRIEVAL_TASKS
from embedtune.data.sts import TASKS


def _name(key: str) -> str:
    if key in TASKS:
        return TASKS[key].name
    return RETRIEVAL_TASKS[key].name if key in RETRIEVAL_TASKS else key


def results_table(result: dict) -> str:
    """One evaluation as Markdown: the STS tasks (Spearman, Pearson, pairs) and the
    retrieval tasks (nDCG@10 first, MTEB's main score), each table only if it has rows."""
    sts = {k: r for k, r in result["tasks"].items() if "spearman" in r}
    retrieval = {k: r for k, r in result["tasks"].items() if "ndcg_at_10" in r}
    tables = []
    if sts:
        lines = ["| task | Spearman | Pearson | pairs |", "|---|---:|---:|---:|"]
        for key, r in sts.items():
            lines.append(f"| {_name(key)} | {r['spearman']:.2f} | {r['pearson']:.2f} | {r['n']} |")
        lines.append(
            f"| **average +- std** | **{result['average']:.2f} +- {result['std']:.2f}** | | |"
        )
        tables.append("\n".join(lines))
    if retrieval:
        lines = [
            "| task | nDCG@10 | MAP@100 | MRR@10 | Recall@100 | P@10 | queries | documents |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for key, r in retrieval.items():
            lines.append(
                f"| {_name(key)} | {r['ndcg_at_10']:.2f} | {r['map_at_100']:.2f} | "
                f"{r['mrr_at_10']:.2f} | {r['recall_at_100']:.2f} | {r['precision_at_10']:.2f} | "
                f"{r['queries']} | {r['documents']} |"
            )
        tables.append("\n".join(lines))
    return "\n\n".join(tables)


def _primary(r: dict) -> float:
    """A task's headline score: Spearman for STS, nDCG@10 for retrieval."""
    return r["spearman"] if "spearman" in r else r["ndcg_at_10"]


def before_after_table(before: dict, after: dict) -> str:
    """Two evaluations side by side with the gain (the study's Table 2 layout); retrieval
    tasks show nDCG@10."""
    lines = ["| task | before | after | gain |", "|---|---:|---:|---:|"]
    for key, a in after["tasks"].items():
        b = before["tasks"].get(key)
        if b is None:
            continue
        name = _name(key) + ("" if "spearman" in a else " (nDCG@10)")
        lines.append(
            f"| {name} | {_primary(b):.2f} | {_primary(a):.2f} | {_primary(a) - _primary(b):+.2f} |"
        )
    if "average" in before and "average" in after:
        lines.append(
            f"| **average +- std** | {before['average']:.2f} +- {before['std']:.2f} | "
            f"{after['average']:.2f} +- {after['std']:.2f} | {after['average'] - before['average']:+.2f} |"
        )
    if "retrieval_average" in before and "retrieval_average" in after:
        b, a = before["retrieval_average"], after["retrieval_average"]
        lines.append(f"| **retrieval average (nDCG@10)** | {b:.2f} | {a:.2f} | {a - b:+.2f} |")
    return "\n".join(lines)


def dims_table(by_dim: dict[str, dict]) -> str:
    """Headline scores (Spearman, nDCG@10, averages) by prefix size, largest first, with
    each as a share of the largest size's."""
    dims = list(by_dim)
    keys = list(by_dim[dims[0]])
    lines = ["| task | " + " | ".join(dims) + " |", "|---|" + "---:|" * len(dims)]
    for key in keys:
        top = by_dim[dims[0]][key]
        cells = [
            f"{by_dim[d][key]:.2f}"
            + (f" ({by_dim[d][key] / top:.0%})" if d != dims[0] and top else "")
            for d in dims
        ]
        lines.append(f"| {_name(key)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
