"""CL4SRec's config (the model: ``ssl4rec.models.cl4srec``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.configs.sequential import SequentialConfig

__all__ = ["CL4SRecConfig"]


@dataclass(frozen=True, kw_only=True)
class CL4SRecConfig(SequentialConfig):
    """Hyperparameters of CL4SRec (encoder and item fields: ``SequentialConfig``)."""

    cl_weight: float = 0.1
    """λ, weight of the InfoNCE term added to the next-item loss."""
    cl_temperature: float = 1.0
    """τ of InfoNCE over dot-product similarities."""
    crop_ratio: float = 0.6
    """η: a crop keeps a random contiguous ⌈η n⌉ items, in (0, 1]."""
    mask_ratio: float = 0.3
    """γ: a mask replaces ⌊γ n⌋ random items by ``[MASK]``, in [0, 1)."""
    reorder_ratio: float = 0.6
    """β: a reorder shuffles a random contiguous ⌊β n⌋ items, in [0, 1]."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.non_negative("cl_weight", self.cl_weight)
        checks.positive("cl_temperature", self.cl_temperature)
        checks.in_range("crop_ratio", self.crop_ratio, 0.0, 1.0, low_open=True)
        checks.in_range("mask_ratio", self.mask_ratio, 0.0, 1.0, high_open=True)
        checks.in_range("reorder_ratio", self.reorder_ratio, 0.0, 1.0)
