"""SASRec's config (the model: ``ssl4rec.models.sasrec``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ssl4rec.models.configs.sequential import SequentialConfig

__all__ = ["SASRecConfig"]


@dataclass(frozen=True, kw_only=True)
class SASRecConfig(SequentialConfig):
    """Hyperparameters of SASRec (encoder and item fields: ``SequentialConfig``)."""

    losses: ClassVar[tuple[str, ...]] = ("ce", "sampled_ce", "gbce", "bce")
    """SASRec also trains with the original sampled BCE (``loss: bce``)."""
