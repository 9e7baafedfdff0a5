"""RecVAE's config (the model: ``ssl4rec.models.recvae``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.config import GradientConfig

__all__ = ["RecVAEConfig"]


@dataclass(frozen=True, kw_only=True)
class RecVAEConfig(GradientConfig):
    """Hyperparameters of RecVAE (defaults from the paper's code)."""

    hidden_dims: tuple[int, ...] = (600,)
    """Width of the five densely connected encoder layers (one value); > 0."""
    embedding_dim: int = 200
    """Latent dimension; > 0."""
    dropout: float = 0.5
    """Input dropout during encoder updates (decoder updates use none); in [0, 1)."""
    gamma: float = 0.005
    """KL weight per consumed item: β_u = gamma · |I_u|; ≥ 0."""
    encoder_epochs: int = 3
    """Encoder passes over the users per epoch; > 0."""
    decoder_epochs: int = 1
    """Decoder passes over the users per epoch; > 0."""
    epochs: int = 100
    """Training epochs, each = encoder passes then decoder passes."""
    batch_size: int = 500
    """Users per batch."""
    learning_rate: float = 5e-4
    """Adam step size of both optimizers."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.all_positive("hidden_dims", self.hidden_dims)
        if len(self.hidden_dims) != 1:
            checks.fail(
                "hidden_dims",
                "one width (all five encoder layers share it)",
                list(self.hidden_dims),
            )
        checks.positive("embedding_dim", self.embedding_dim)
        checks.in_range("dropout", self.dropout, 0.0, 1.0, high_open=True)
        checks.non_negative("gamma", self.gamma)
        checks.positive("encoder_epochs", self.encoder_epochs)
        checks.positive("decoder_epochs", self.decoder_epochs)
