"""SimGCL's config (the model: ``ssl4rec.models.simgcl``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.configs.graph import ContrastiveGraphConfig

__all__ = ["SimGCLConfig"]


@dataclass(frozen=True, kw_only=True)
class SimGCLConfig(ContrastiveGraphConfig):
    """Hyperparameters of SimGCL; defaults are the paper's Yelp2018 settings (ε 0.1, λ 0.5, τ 0.2)."""

    noise_eps: float = 0.1
    """ε: length of the random noise added to every embedding at every layer; ≥ 0."""
    ssl_weight: float = 0.5
    """λ: weight of the contrastive (InfoNCE) term beside BPR; ≥ 0."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.non_negative("noise_eps", self.noise_eps)

