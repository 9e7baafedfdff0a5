"""Bases of every model config, importable without torch.

``ModelConfig`` and ``GradientConfig`` are what each model's config dataclass
derives from (the dataclasses themselves live in ``ssl4rec.models.configs``, one
module per model); ``ACTIVATIONS`` is the vocabulary of activation fields. Nothing
here imports torch, so reading and validating an experiment config stays fast.
``ssl4rec.models.base`` re-exports both classes.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import override

from ssl4rec.config.base import Checks

__all__ = ["ACTIVATIONS", "AutoencoderConfig", "GradientConfig", "ModelConfig"]

ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity")
"""Names an activation field may take (``ssl4rec.models.nn.mlp.activation`` builds them)."""


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Base of every model config: frozen, keyword-only, validated on creation."""

    seed: int = 0
    """Seed for parameter initialisation and sampling."""

    def __post_init__(self) -> None:
        checks = Checks(type(self).__name__)
        self.validate(checks)
        checks.raise_if_any()

    def validate(self, checks: Checks) -> None:
        """Add problems to ``checks``; subclasses extend (call ``super().validate``)."""
        checks.non_negative("seed", self.seed)


@dataclass(frozen=True, kw_only=True)
class GradientConfig(ModelConfig):
    """Base of the configs of models trained by gradient steps (Adam).

    A model redeclares a field only where its default (or what one example of a
    batch is) differs.
    """

    epochs: int = 200
    """Epoch limit (early stopping on validation usually ends sooner); > 0."""
    batch_size: int = 256
    """Training examples per step (users, pairs or sequence windows, per model); > 0."""
    learning_rate: float = 1e-3
    """Adam step size; > 0."""
    weight_decay: float = 0.0
    """Adam L2 penalty; ≥ 0."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.positive_fields(self, "epochs", "batch_size", "learning_rate")
        checks.non_negative("weight_decay", self.weight_decay)


@dataclass(frozen=True, kw_only=True)
class AutoencoderConfig(GradientConfig):
    """Fields shared by the autoencoders that encode a user's item row (Mult-DAE/VAE, RecVAE).

    Defaults follow Liang et al. (2018): ``[I -> 600 -> 200 -> 600 -> I]``.
    """

    hidden_dims: tuple[int, ...] = (600,)
    """Encoder hidden widths (the decoder mirrors them); each > 0."""
    embedding_dim: int = 200
    """Width of the code between encoder and decoder (the latent z of the VAEs); > 0."""
    dropout: float = 0.5
    """Input dropout on the normalised user vector (the corruption); in [0, 1)."""
    batch_size: int = 500
    """Users per batch."""
    sparse_input: bool = False
    """Feed user rows to the first layer as sparse tensors (cost per step follows the
    users' history lengths, not the catalog size); the same outputs as dense rows for
    the same weights. The first layer's weight is then stored ``(num_items, width)``."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.all_positive("hidden_dims", self.hidden_dims)
        checks.positive("embedding_dim", self.embedding_dim)
        checks.fractions(self, "dropout")
