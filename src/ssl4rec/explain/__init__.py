"""Why an item was recommended: a weight per history item, from one of several methods.

``explain(model, history, items, method=None)`` returns one ``Explanation`` per item;
the methods are objects in ``METHODS`` that each declare the models they support
(``supported_methods(model)``). ``fidelity`` measures how faithful a method is
(deletion and insertion curves); ``ssl4rec.explain.plot`` draws the weights as a
heatmap (imported on its own: it loads matplotlib).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ssl4rec.explain.base import (
    METHODS,
    Explanation,
    ExplanationMethod,
    explain,
    register,
    supported_methods,
)
from ssl4rec.explain.fidelity import fidelity
from ssl4rec.explain.tokens import token_weights
from ssl4rec.models.capabilities import ItemContributions

__all__ = [
    "METHODS",
    "Explanation",
    "ExplanationMethod",
    "explain",
    "explain_item",
    "explain_recommendations",
    "fidelity",
    "register",
    "supported_methods",
    "token_weights",
]


def explain_item(model: Any, history: np.ndarray, item: int, *, top: int = 3) -> list[tuple[int, float]]:
    """The ``top`` history items (indices) with the largest contribution to ``item``."""
    history = np.asarray(history, dtype=np.int64)
    if len(history) == 0 or not isinstance(model, ItemContributions):
        return []
    weights = np.asarray(model.item_contributions(history, int(item)), dtype=np.float64)
    order = np.argsort(-weights, kind="stable")[:top]
    return [(int(history[i]), float(weights[i])) for i in order if weights[i] > 0]


def explain_recommendations(
    model: Any, user: object, items: Sequence[int], scores: Sequence[float], *, top: int = 3
) -> list[dict[str, Any]]:
    """Rows (rank, item, title, score, because) for a user's recommended item indices."""
    titles = _titles(model)
    history = model.history.sequence(model.user_vocab.index(user))
    rows = []
    for rank, (item, score) in enumerate(zip(items, scores, strict=True), start=1):
        because = [titles[h] for h, _ in explain_item(model, history, int(item), top=top)]
        rows.append(
            {
                "rank": rank,
                "item": str(model.item_vocab.raw([item])[0]),
                "title": titles[int(item)],
                "score": float(score),
                "because": because,
            }
        )
    return rows


def _titles(model: Any) -> list[str]:
    ids = model.item_vocab.to_list()
    table = model.item_table
    if table is None or "title" not in table.columns:
        return ids
    return [t if t else i for t, i in zip(table.get_column("title").to_list(), ids, strict=True)]
