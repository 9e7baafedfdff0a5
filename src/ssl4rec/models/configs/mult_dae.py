"""MultDAE's config (the model: ``ssl4rec.models.mult_dae``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.config import ACTIVATIONS, GradientConfig

__all__ = ["MultDAEConfig"]


@dataclass(frozen=True, kw_only=True)
class MultDAEConfig(GradientConfig):
    """Hyperparameters of Mult-DAE ([I -> 600 -> 200 -> 600 -> I] by default)."""

    hidden_dims: tuple[int, ...] = (600,)
    """Encoder hidden widths (the decoder mirrors them); each > 0; may be empty."""
    embedding_dim: int = 200
    """Width of the bottleneck code; > 0."""
    dropout: float = 0.5
    """Input dropout on the normalised user vector (the corruption); in [0, 1)."""
    activation: str = "tanh"
    """Activation after every layer but the output: tanh, sigmoid, relu or identity."""
    batch_size: int = 500
    """Users per batch."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.all_positive("hidden_dims", self.hidden_dims)
        checks.positive("embedding_dim", self.embedding_dim)
        checks.in_range("dropout", self.dropout, 0.0, 1.0, high_open=True)
        checks.one_of("activation", self.activation, ACTIVATIONS)
