"""CFGAN's config (the model: ``ssl4rec.models.cfgan``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.config import GradientConfig

__all__ = ["CFGANConfig"]


@dataclass(frozen=True, kw_only=True)
class CFGANConfig(GradientConfig):
    """Hyperparameters of CFGAN (the ZR + PM variant, 'CFGAN_ZP')."""

    hidden_dims: tuple[int, ...] = (400,)
    """Generator hidden widths; each > 0."""
    discriminator_hidden_dims: tuple[int, ...] = (125,)
    """Discriminator hidden widths; each > 0."""
    zr_ratio: float = 0.7
    """Share of a user's unpurchased items sampled for zero-reconstruction (ZR); in [0, 1]."""
    pm_ratio: float = 0.7
    """Share of a user's unpurchased items sampled for partial masking (PM); in [0, 1]."""
    zr_weight: float = 0.1
    """α, weight of the ZR penalty in the generator loss; ≥ 0."""
    generator_steps: int = 1
    """Generator passes over the users per epoch; > 0."""
    discriminator_steps: int = 1
    """Discriminator passes over the users per epoch (before the generator's); > 0."""
    epochs: int = 400
    """Training epochs (the trainer early-stops on validation)."""
    batch_size: int = 64
    """Users per batch."""
    learning_rate: float = 1e-4
    """Adam step size of both players."""
    weight_decay: float = 0.0
    """Adam L2 penalty of the generator only."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.all_positive("hidden_dims", self.hidden_dims)
        checks.all_positive("discriminator_hidden_dims", self.discriminator_hidden_dims)
        checks.in_range("zr_ratio", self.zr_ratio, 0.0, 1.0)
        checks.in_range("pm_ratio", self.pm_ratio, 0.0, 1.0)
        checks.non_negative("zr_weight", self.zr_weight)
        checks.positive_fields(self, "generator_steps", "discriminator_steps")
