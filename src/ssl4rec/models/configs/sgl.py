"""SGL's config (the model: ``ssl4rec.models.sgl``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.configs.graph import ContrastiveGraphConfig

__all__ = ["SGLConfig"]


@dataclass(frozen=True, kw_only=True)
class SGLConfig(ContrastiveGraphConfig):
    """Hyperparameters of SGL; defaults are the paper's SGL-ED settings (τ 0.2, λ 0.1, ρ 0.1)."""

    augmentation: Literal["edge", "node"] = "edge"
    """How each view drops part of the graph, once per epoch: ``edge`` (SGL-ED, each
    user-item edge kept with probability 1 - drop_ratio) or ``node`` (SGL-ND, each
    node's edges dropped with probability drop_ratio)."""
    drop_ratio: float = 0.1
    """ρ: share of edges (or nodes) dropped in each view; in [0, 1)."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.one_of("augmentation", self.augmentation, ("edge", "node"))
        checks.fractions(self, "drop_ratio")
