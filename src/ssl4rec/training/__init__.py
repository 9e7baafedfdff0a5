"""ssl4rec.training: the generic trainer, device resolution, seeds, run folders.

The public names are resolved on first use, so that importing a torch-free module
of this package (``ssl4rec.training.config``) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ssl4rec.training.config import TrainConfig
    from ssl4rec.training.trainable import EpochCallback, Trainable
    from ssl4rec.training.trainer import Trainer, TrainingDivergedError

_LAZY = {
    "EpochCallback": "ssl4rec.training.trainable",
    "TrainConfig": "ssl4rec.training.config",
    "Trainable": "ssl4rec.training.trainable",
    "Trainer": "ssl4rec.training.trainer",
    "TrainingDivergedError": "ssl4rec.training.trainer",
}

__all__ = ["EpochCallback", "TrainConfig", "Trainable", "Trainer", "TrainingDivergedError"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
