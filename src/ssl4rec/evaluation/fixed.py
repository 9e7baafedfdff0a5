"""A base for scorers whose rows do not come from a model of ours (random, a peer's).

The evaluator takes any ``Scorer``; such a scorer still needs the training data for
the catalog size, the popularity metrics and the item table, and reads no history
when it scores. ``FixedScorer`` gives it that part once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

    from ssl4rec.data.interactions import Interactions

__all__ = ["FixedScorer"]


class FixedScorer:
    """Catalog, users, history and item table from ``train``; ``using_history`` is a no-op.

    Subclasses set ``name``, ``is_sequential`` and ``score``.
    """

    def __init__(self, train: Interactions) -> None:
        self._train = train

    @property
    def num_items(self) -> int:
        """Catalog size."""
        return self._train.num_items

    @property
    def num_users(self) -> int:
        """Users of the training data."""
        return self._train.num_users

    @property
    def history(self) -> Interactions:
        """The training data (for popularity metrics)."""
        return self._train

    @property
    def item_table(self) -> pl.DataFrame | None:
        """The training item table."""
        return self._train.item_table

    @contextmanager
    def using_history(self, data: Interactions) -> Iterator[None]:
        """No-op: the scores do not depend on the history given at evaluation."""
        del data
        yield
