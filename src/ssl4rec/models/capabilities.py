"""Optional model capabilities, declared as runtime-checkable Protocols.

Higher layers (serving, explain) test a model with ``isinstance(model, ItemVectors)``
and so on, instead of probing attribute names. A model has a capability by
defining its methods; nothing needs registering.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["ItemContributions", "ItemVectors", "PooledItemVectors", "QueryVectors"]


@runtime_checkable
class ItemVectors(Protocol):
    """A vector per item; serving finds similar items by cosine over them."""

    def item_vectors(self) -> np.ndarray:
        """Float array ``(num_items, d)``, row i for item index i."""
        ...


@runtime_checkable
class QueryVectors(ItemVectors, Protocol):
    """Scores that are (or, with a history bias, nearly are) query · item vectors.

    Serving answers from a vector index when ``factorized`` is true or when the
    history items are excluded anyway.
    """

    @property
    def factorized(self) -> bool:
        """Whether ``score_history`` is exactly ``query_vectors @ item_vectors().T``."""
        ...

    def query_vectors(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """Float array ``(len(histories), d)``, one query per item-index history."""
        ...


@runtime_checkable
class ItemContributions(Protocol):
    """Scores that are a sum of item-item weights over the distinct history items.

    ``score_history([history])[0, item]`` is the sum of ``item_contributions(history,
    item)`` over the distinct history items (EASE's B entries, ItemKNN's
    similarities): a repeated item adds its weight once.
    """

    def item_contributions(self, history: np.ndarray, item: int) -> np.ndarray:
        """Float array ``(len(history),)``: the weight of each position's item to ``item``."""
        ...


@runtime_checkable
class PooledItemVectors(Protocol):
    """Fold-in scores that are the mean of the distinct history items' vectors · item vectors.

    ``score_history([history])[0, i] = mean over distinct h in history of v_h · v_i``
    (BPR's fold-in), so each history item's share of a score is exact.
    """

    def pooled_item_vectors(self) -> np.ndarray:
        """Float array ``(num_items, d)``: ``v_i``, both pooled over a history and scored."""
        ...
