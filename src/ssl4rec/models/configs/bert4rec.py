"""BERT4Rec's config (the model: ``ssl4rec.models.bert4rec``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.configs.sequential import SequentialConfig

__all__ = ["BERT4RecConfig"]


@dataclass(frozen=True, kw_only=True)
class BERT4RecConfig(SequentialConfig):
    """Hyperparameters of BERT4Rec (encoder and item fields: ``SequentialConfig``)."""

    renamed_fields: ClassVar[dict[str, str]] = {
        **SequentialConfig.renamed_fields,
        "mask_prob": "mask_ratio",
    }

    mask_ratio: float = 0.2
    """Share of items replaced by ``[MASK]`` in each training window, in (0, 1)."""
    mask_last_prob: float = 0.1
    """Extra chance per window that only its last item is masked (the serving task)."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.in_range("mask_ratio", self.mask_ratio, 0.0, 1.0, low_open=True, high_open=True)
        checks.in_range("mask_last_prob", self.mask_last_prob, 0.0, 1.0)
