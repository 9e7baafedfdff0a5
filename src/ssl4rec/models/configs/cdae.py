"""CDAE's config (the model: ``ssl4rec.models.cdae``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.config import ACTIVATIONS, GradientConfig

__all__ = ["CDAEConfig"]


@dataclass(frozen=True, kw_only=True)
class CDAEConfig(GradientConfig):
    """Hyperparameters of CDAE."""

    embedding_dim: int = 64
    """Hidden units, also the size of the user node; > 0."""
    dropout: float = 0.5
    """Drop-out corruption of the input vector (kept entries scaled by 1/(1-q)); in [0, 1)."""
    hidden_activation: str = "relu"
    """Activation of the hidden layer: tanh, sigmoid (the paper's), relu or identity.

    relu is the default: on ml-100k validation it beats sigmoid by far (0.130 vs 0.069
    NDCG@10), as in RecBole's default."""
    output_activation: str = "sigmoid"
    """``"sigmoid"`` (with the logistic loss) or ``"identity"`` (with the squared loss)."""
    loss: str = "bce"
    """``"bce"`` (logistic) or ``"mse"`` (squared) reconstruction loss over all items."""
    batch_size: int = 256
    """Users per batch."""
    sparse_input: bool = False
    """Feed user rows to the encoder as sparse tensors (cost per step follows the users'
    history lengths, not the catalog size); the same outputs as dense rows for the same
    weights. The encoder weight is then stored ``(num_items, embedding_dim)``."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.positive("embedding_dim", self.embedding_dim)
        checks.in_range("dropout", self.dropout, 0.0, 1.0, high_open=True)
        checks.one_of("hidden_activation", self.hidden_activation, ACTIVATIONS)
        checks.one_of("output_activation", self.output_activation, ("sigmoid", "identity"))
        checks.one_of("loss", self.loss, ("bce", "mse"))
        if self.loss == "bce" and self.output_activation != "sigmoid":
            checks.fail("loss", "'mse' when output_activation is 'identity'", self.loss)
