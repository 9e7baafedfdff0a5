"""MultVAE's config (the model: ``ssl4rec.models.mult_vae``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.config import ACTIVATIONS, GradientConfig

__all__ = ["MultVAEConfig"]


@dataclass(frozen=True, kw_only=True)
class MultVAEConfig(GradientConfig):
    """Hyperparameters of Mult-VAE (defaults from the paper, [I -> 600 -> 200 -> 600 -> I])."""

    hidden_dims: tuple[int, ...] = (600,)
    """Encoder hidden widths (the decoder mirrors them); each > 0."""
    embedding_dim: int = 200
    """Latent dimension of z; > 0."""
    dropout: float = 0.5
    """Input dropout on the normalised user vector (the corruption); in [0, 1)."""
    activation: str = "tanh"
    """Hidden activation: tanh, sigmoid, relu or identity."""
    anneal_cap: float = 0.2
    """Largest KL weight β; in [0, 1]."""
    total_anneal_steps: int = 200_000
    """Optimizer steps over which β grows linearly from 0 to ``anneal_cap``; 0 = cap at once."""
    batch_size: int = 500
    """Users per batch."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.all_positive("hidden_dims", self.hidden_dims)
        checks.positive("embedding_dim", self.embedding_dim)
        checks.in_range("dropout", self.dropout, 0.0, 1.0, high_open=True)
        checks.one_of("activation", self.activation, ACTIVATIONS)
        checks.in_range("anneal_cap", self.anneal_cap, 0.0, 1.0)
        checks.non_negative("total_anneal_steps", self.total_anneal_steps)
