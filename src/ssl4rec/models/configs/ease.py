"""EASE's config (the model: ``ssl4rec.models.ease``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.config import ModelConfig

__all__ = ["EASEConfig"]


@dataclass(frozen=True, kw_only=True)
class EASEConfig(ModelConfig):
    """Hyperparameters of EASE."""

    l2_reg: float = 250.0
    """λ, the L2 penalty on B (RecBole's default 250; tune on validation)."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.positive("l2_reg", self.l2_reg)
