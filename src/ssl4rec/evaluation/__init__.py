"""Evaluation: metrics, ranking protocols, the evaluator, significance tests."""

from __future__ import annotations

from ssl4rec.evaluation.evaluator import evaluate, evaluate_interactions
from ssl4rec.evaluation.metrics import METRICS, Metric, parse_metric, parse_metrics
from ssl4rec.evaluation.results import EvalResult
from ssl4rec.evaluation.significance import PairedTestResult, paired_test

__all__ = [
    "METRICS",
    "EvalResult",
    "Metric",
    "PairedTestResult",
    "evaluate",
    "evaluate_interactions",
    "paired_test",
    "parse_metric",
    "parse_metrics",
]
