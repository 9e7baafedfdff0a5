"""MultDAE's config (the model: ``ssl4rec.models.mult_dae``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.config import ACTIVATIONS
from ssl4rec.models.configs.text_output import TextAutoencoderConfig

__all__ = ["MultDAEConfig"]


@dataclass(frozen=True, kw_only=True)
class MultDAEConfig(TextAutoencoderConfig):
    """Hyperparameters of Mult-DAE (layers, dropout and the output layer's ``item_repr``: bases)."""

    activation: str = "tanh"
    """Activation after every layer but the output: tanh, sigmoid, relu or identity."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.one_of("activation", self.activation, ACTIVATIONS)
