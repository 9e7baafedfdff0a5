"""MultDAE's config (the model: ``ssl4rec.models.mult_dae``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.config import ACTIVATIONS, AutoencoderConfig

__all__ = ["MultDAEConfig"]


@dataclass(frozen=True, kw_only=True)
class MultDAEConfig(AutoencoderConfig):
    """Hyperparameters of Mult-DAE (layer sizes and dropout: ``AutoencoderConfig``)."""

    activation: str = "tanh"
    """Activation after every layer but the output: tanh, sigmoid, relu or identity."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.one_of("activation", self.activation, ACTIVATIONS)
