"""DPPop's config (the model: ``ssl4rec.models.dp_pop``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.config import ModelConfig

__all__ = ["DPPopConfig"]


@dataclass(frozen=True, kw_only=True)
class DPPopConfig(ModelConfig):
    """The noise of DP-Pop; ε and δ come from the experiment's ``privacy`` section."""

    mechanism: Literal["gaussian", "laplace"] = "gaussian"
    """Gaussian (needs δ; calibrated by Opacus's accountant) or Laplace (pure ε)."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.one_of("mechanism", self.mechanism, ("gaussian", "laplace"))
