"""SASRec's config (the model: ``ssl4rec.models.sasrec``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.configs.sequential import SequentialConfig

__all__ = ["SASRecConfig"]


@dataclass(frozen=True, kw_only=True)
class SASRecConfig(SequentialConfig):
    """Hyperparameters of SASRec (encoder and item fields: ``SequentialConfig``)."""

    loss: Literal["ce", "bce"] = "ce"
    """``ce``: softmax cross-entropy over all items; ``bce``: sampled BCE (original)."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.one_of("loss", self.loss, ("ce", "bce"))
