"""A hook that takes over batching and the optimizer step (used for DP-SGD).

The trainer knows only this shape; ``ssl4rec.privacy.DPSGD`` is the one
implementation. With a hook, the trainer asks it for the optimizers (after
wrapping them), for each epoch's batches and for each step, and adds its
``summary()`` to the training summary under ``privacy``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import torch

from ssl4rec.data.interactions import Interactions

__all__ = ["StepHook"]


class StepHook(Protocol):
    """Replaces the trainer's batches and steps (see the module docstring)."""

    def attach(
        self, model: Any, train: Interactions, optimizers: Mapping[str, torch.optim.Optimizer]
    ) -> Mapping[str, torch.optim.Optimizer]:
        """Wrap the model's optimizers before the first epoch; returns the ones to step."""
        ...

    def batches(self, model: Any, train: Interactions) -> Iterable[Any]:
        """One epoch of batches."""
        ...

    def step(
        self, model: Any, batch: Any, phase: str | None, optimizer: torch.optim.Optimizer
    ) -> Mapping[str, torch.Tensor] | None:
        """One full optimizer step on ``batch``; its loss terms (``None``: nothing to log)."""
        ...

    def summary(self) -> dict[str, Any]:
        """What to report under ``privacy`` in the training summary."""
        ...
