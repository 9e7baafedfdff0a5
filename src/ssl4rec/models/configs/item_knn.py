"""ItemKNN's config (the model: ``ssl4rec.models.item_knn``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.config import ModelConfig

__all__ = ["ItemKNNConfig"]


@dataclass(frozen=True, kw_only=True)
class ItemKNNConfig(ModelConfig):
    """Hyperparameters of ItemKNN."""

    num_neighbors: int = 100
    """Neighbours kept per item (RecBole's ``k`` default 100)."""
    shrink: float = 0.0
    """Added to the cosine denominator; damps similarities from few co-occurrences."""
    block_size: int = 2048
    """Items whose similarity rows are computed at once (memory vs speed)."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.positive_fields(self, "num_neighbors", "block_size")
        checks.non_negative("shrink", self.shrink)
