"""XSimGCL's config (the model: ``ssl4rec.models.xsimgcl``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.configs.simgcl import SimGCLConfig

__all__ = ["XSimGCLConfig"]


@dataclass(frozen=True, kw_only=True)
class XSimGCLConfig(SimGCLConfig):
    """Hyperparameters of XSimGCL; defaults are the paper's Yelp2018 settings (ε 0.2, λ 0.2, τ 0.15, l* 1)."""

    noise_eps: float = 0.2
    """ε: length of the random noise added to every embedding at every layer; ≥ 0."""
    ssl_weight: float = 0.2
    """λ: weight of the cross-layer contrastive term beside BPR; ≥ 0."""
    ssl_temperature: float = 0.15
    """τ of the InfoNCE term; > 0."""
    contrast_layer: int = 1
    """l*: the layer whose (noisy) embeddings are contrasted with the final ones; in [1, num_layers]."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.in_range("contrast_layer", self.contrast_layer, 1, self.num_layers)
