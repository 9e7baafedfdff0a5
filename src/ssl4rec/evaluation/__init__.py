"""Evaluation: metrics, ranking protocols, the evaluator, significance tests.

The public names are resolved on first use, so that importing a torch-free module
of this package (``ssl4rec.evaluation.metrics``, which parses metric names in
configs) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ssl4rec.evaluation.evaluator import evaluate, evaluate_interactions
    from ssl4rec.evaluation.metrics import METRICS, Metric, parse_metric, parse_metrics
    from ssl4rec.evaluation.results import EvalResult
    from ssl4rec.evaluation.significance import PairedTestResult, paired_test

_LAZY = {
    "METRICS": "ssl4rec.evaluation.metrics",
    "EvalResult": "ssl4rec.evaluation.results",
    "Metric": "ssl4rec.evaluation.metrics",
    "PairedTestResult": "ssl4rec.evaluation.significance",
    "evaluate": "ssl4rec.evaluation.evaluator",
    "evaluate_interactions": "ssl4rec.evaluation.evaluator",
    "paired_test": "ssl4rec.evaluation.significance",
    "parse_metric": "ssl4rec.evaluation.metrics",
    "parse_metrics": "ssl4rec.evaluation.metrics",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
