"""BPR's config (the model: ``ssl4rec.models.bpr``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.config import GradientConfig

__all__ = ["BPRConfig"]


@dataclass(frozen=True, kw_only=True)
class BPRConfig(GradientConfig):
    """Hyperparameters of BPR-MF."""

    embedding_dim: int = 64
    """Factors per user and item; > 0."""
    num_negatives: int = 1
    """Sampled unobserved items per observed (user, item) pair; > 0."""
    batch_size: int = 2048
    """Observed pairs per batch."""
    weight_decay: float = 0.0
    """L2 penalty on the embeddings used in each batch (added to the loss), not Adam's."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.positive_fields(self, "embedding_dim", "num_negatives")
