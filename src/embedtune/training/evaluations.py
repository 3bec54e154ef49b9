"""The evaluations a run makes: a dev set along the way (STS-B dev, or a held-out retrieval split; (model selection: the history and
best/), and the report tasks before and after training (before.json, after.json; after
training in a fresh child process, as fast as `embedtune evaluate`)."""

from __future__ import annotations

import json

from embedtune import parallel
from embedtune.data.beir import RetrievalData
from embedtune.evaluation.child import evaluate_in_child
from embedtune.evaluation.run import result_json, score_tasks
from embedtune.log import log
from embedtune.training.model import weight_dtype


def evaluate_final(trainer, when: str) -> dict | None:
    """Score the trainer's ``final_tasks`` into out/<when>.json (None when there are none)."""
    if not trainer.final_tasks:
        return None
    cfg = trainer.cfg
    if parallel.is_main():
        tasks = ", ".join(t.key for t in trainer.final_tasks)
        log.info(f"evaluating {when} training on {tasks}")
    if when == "after" and cfg.eval_in_subprocess and parallel.world_size() == 1:
        scores = evaluate_in_child(
            trainer.out / "final",
            trainer.final_tasks,
            cfg.eval_batch_size,
            cfg.dtype,
            dtype=weight_dtype(cfg),
            device=str(trainer.device),
            attn_implementation=cfg.attn_implementation,
        )
    else:
        scores = score_tasks(trainer.embedder, trainer.final_tasks, batch_size=cfg.eval_batch_size)
    result = result_json(trainer.embedder, cfg.model, scores)
    if parallel.is_main():
        (trainer.out / f"{when}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def evaluate_dev(trainer) -> dict:
    """The dev task now, as a history row ``{"step", "task", "metric", "score", <metric>}``:
    Spearman for an STS dev set, nDCG@10 for a held-out retrieval dev split (its corpus is
    embedded afresh each time: the weights changed)."""
    dev = trainer.dev
    metric = "ndcg_at_10" if isinstance(dev, RetrievalData) else "spearman"
    scores = score_tasks(
        trainer.embedder,
        [dev],
        batch_size=trainer.cfg.eval_batch_size,
        corpus_cache=False,
        show_progress=False,
    )
    score = round(scores["tasks"][dev.key][metric], 4)
    return {
        "step": trainer.state.step,
        "task": dev.key,
        "metric": metric,
        "score": score,
        metric: score,
    }


def dev_score(row: dict) -> float:
    """A history row's score (rows written before retrieval dev sets have only "spearman")."""
    return row["score"] if "score" in row else row["spearman"]


def metric_name(row: dict) -> str:
    return {"spearman": "Spearman", "ndcg_at_10": "nDCG@10"}[row.get("metric", "spearman")]
