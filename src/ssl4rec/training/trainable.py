"""What the trainer needs of a model: the training hooks, typed as a Protocol.

The trainer depends on this shape, not on ``ssl4rec.models``; every model trained
by gradient steps (``ssl4rec.models.base.Recommender`` subclasses with a
``GradientConfig``) has it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import torch

from ssl4rec.data.interactions import Interactions
from ssl4rec.evaluation.evaluator import Scorer

__all__ = ["EpochCallback", "Trainable", "TrainableConfig"]


class TrainableConfig(Protocol):
    """The fields of a model config the trainer reads."""

    @property
    def seed(self) -> int:
        """Seed of initialisation, batch order and sampling."""
        ...

    @property
    def epochs(self) -> int:
        """Epoch limit."""
        ...


class Trainable(Scorer, Protocol):
    """A model the generic trainer can fit (and validate, as a ``Scorer``)."""

    @property
    def config(self) -> TrainableConfig:
        """The model config."""
        ...

    @property
    def is_fitted(self) -> bool:
        """Whether the model holds fitted weights."""
        ...

    def modules(self) -> Mapping[str, torch.nn.Module]:
        """Trainable modules by name."""
        ...

    def configure_optimizers(self) -> Mapping[str, torch.optim.Optimizer]:
        """One optimizer per phase name."""
        ...

    def training_phases(self, epoch: int) -> Sequence[str]:
        """Phases of epoch ``epoch`` in order; empty = every optimizer once."""
        ...

    def batches(self, train: Interactions, generator: torch.Generator) -> Iterable[Any]:
        """One epoch of batches."""
        ...

    def training_step(self, batch: Any, phase: str | None = None) -> Mapping[str, torch.Tensor]:
        """Named loss terms of one batch, the total under ``"loss"``."""
        ...

    def on_epoch_start(self, epoch: int) -> None:
        """Called before each epoch."""
        ...

    def extra_state(self) -> Mapping[str, torch.Tensor]:
        """Non-module tensors to checkpoint."""
        ...

    def load_extra_state(self, state: Mapping[str, torch.Tensor]) -> None:
        """Restore what ``extra_state`` returned."""
        ...


class EpochCallback(Protocol):
    """Called by the trainer after every epoch with that epoch's log record."""

    def on_epoch_end(self, model: Trainable, record: Mapping[str, Any]) -> None:
        """``record`` holds ``epoch`` (1-based), ``losses`` and the monitored metric."""
        ...
