"""ssl4rec: self-supervised, language-model-enhanced recommendation."""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Public names resolved lazily so that `import ssl4rec` (and the CLI's --help)
# does not import torch.
_LAZY = {
    "Interactions": "ssl4rec.data.interactions",
    "IdVocab": "ssl4rec.data.interactions",
    "Split": "ssl4rec.data.splits",
    "ExperimentConfig": "ssl4rec.runner.experiment",
    "Recommender": "ssl4rec.models.base",
    "load_model": "ssl4rec.models.base",
    "evaluate": "ssl4rec.evaluation.evaluator",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ssl4rec' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
