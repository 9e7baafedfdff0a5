"""Which words of a recommended item's own text carried its score (text-enhanced models).

For sequential models that read item text (``item_repr`` ``"id+text"`` or
``"text"``), the item's text is re-encoded with each of its words left out, mapped
through the model's item adaptor to a new item vector, and scored against the
history's query: a word's weight is the score the item loses without it
(occlusion over words).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ssl4rec.errors import ConfigError
from ssl4rec.models.base import Recommender
from ssl4rec.models.nn.sequential import SequentialRecommender
from ssl4rec.text.encoder import ItemTextEncoder

__all__ = ["reads_item_text", "token_weights"]


def reads_item_text(model: Recommender[Any]) -> bool:
    """Whether ``model`` scores items through their text (a text-enhanced sequential model)."""
    return isinstance(model, SequentialRecommender) and model.config.item_repr != "id"


def token_weights(
    model: Recommender[Any],
    encoder: ItemTextEncoder,
    history: np.ndarray,
    item: int,
    text: str,
) -> list[tuple[str, float]]:
    """The words of ``item``'s ``text`` with the score each carries, in text order.

    A word's weight is ``score(text) - score(text without that word)`` for ``item``
    after ``history``, every item vector built from ``encoder``'s vectors through the
    model's adaptor. A repeated word is left out everywhere at once and listed once.
    All variants are encoded in one call.

    Args:
        model: a fitted text-enhanced sequential model.
        encoder: the encoder of the model's item text (same width as its text vectors).
        history: item indices, oldest first.
        item: the recommended item's index.
        text: the item's text (as the model's text template rendered it).

    Returns:
        ``(word, weight)`` pairs; empty for a text without words.

    Raises:
        ConfigError: a model that reads no item text.
        DataError: an encoder of another width than the model's text vectors.
    """
    if not isinstance(model, SequentialRecommender) or not reads_item_text(model):
        raise ConfigError(
            f"token_weights(): model must be a sequential model with item_repr 'id+text' "
            f"or 'text'; got {type(model).__name__}"
        )
    words = text.split()
    distinct = list(dict.fromkeys(words))
    if not distinct:
        return []
    variants = [text] + [" ".join(w for w in words if w != word) for word in distinct]
    vectors = model.text_item_vectors(int(item), encoder.encode(variants))  # (1 + m, d)
    query = model.query_vectors([np.asarray(history, dtype=np.int64)])[0]  # (d,)
    scores = vectors.astype(np.float64) @ query.astype(np.float64)  # (1 + m,)
    return [(word, float(scores[0] - scores[k + 1])) for k, word in enumerate(distinct)]
