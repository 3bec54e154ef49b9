"""Evaluation: the STS evaluator and the reports built from its results."""

from embedtune.evaluation.sts import evaluate_sts, score_pairs

__all__ = ["evaluate_sts", "score_pairs"]
