"""RecVAE's config (the model: ``ssl4rec.models.recvae``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.config import AutoencoderConfig

__all__ = ["RecVAEConfig"]


@dataclass(frozen=True, kw_only=True)
class RecVAEConfig(AutoencoderConfig):
    """Hyperparameters of RecVAE (defaults from the paper's code).

    ``hidden_dims`` holds one width, shared by the five densely connected encoder
    layers; ``dropout`` applies during encoder updates (decoder updates use none).
    """

    gamma: float = 0.005
    """KL weight per consumed item: β_u = gamma · |I_u|; ≥ 0."""
    encoder_epochs: int = 3
    """Encoder passes over the users per epoch; > 0."""
    decoder_epochs: int = 1
    """Decoder passes over the users per epoch; > 0."""
    epochs: int = 100
    """Training epochs, each = encoder passes then decoder passes."""
    learning_rate: float = 5e-4
    """Adam step size of both optimizers."""
    noise_std: float = 1.0
    """Standard deviation of ε in the training sample z = μ + ε·σ; ≥ 0 (1 as in the
    paper; RecBole 1.2.1 uses 0.01)."""
    init: str = "xavier"
    """Linear layers' initialisation: ``"xavier"`` (Xavier-normal weights, zero biases,
    as RecBole 1.2.1) or ``"default"`` (PyTorch's). Xavier is the default: on the
    ml100k-topn split it lifts valid NDCG@10 from 0.129 to 0.139 (docs/benchmarks.md,
    "Mult-VAE and RecVAE against RecBole's")."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        if len(self.hidden_dims) != 1:
            checks.fail(
                "hidden_dims",
                "one width (all five encoder layers share it)",
                list(self.hidden_dims),
            )
        checks.non_negative("gamma", self.gamma)
        checks.positive_fields(self, "encoder_epochs", "decoder_epochs")
        checks.non_negative("noise_std", self.noise_std)
        checks.one_of("init", self.init, ("default", "xavier"))
