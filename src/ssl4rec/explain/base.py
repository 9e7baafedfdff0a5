"""The one explanation interface: a weight per history item, a method name, a sentence.

An explanation method turns ``(model, history, recommended items)`` into a matrix of
weights, one row per item and one column per history position: how much that
history event pushed the item up (positive) or down (negative). Methods are objects
in one registry; each declares which models it supports with a typed check
(capability Protocols, model classes), never by probing attribute names.

The built-in methods live in ``ssl4rec.explain.methods`` and register themselves
when this module is imported; ``METHODS`` lists them in order of preference.

Example:
    >>> supported_methods(model)
    ['occlusion', 'attention-rollout', 'integrated-gradients', 'gradient-x-input']
    >>> [e.sentence for e in explain(model, history, [item], method="occlusion")]
    ['Recommended because you liked "Toy Story" and "Babe" (occlusion).']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Protocol

import numpy as np

from ssl4rec.errors import ConfigError
from ssl4rec.explain.tokens import reads_item_text, token_weights
from ssl4rec.models.base import Recommender
from ssl4rec.text.encoder import ItemTextEncoder

__all__ = [
    "METHODS",
    "Explanation",
    "ExplanationMethod",
    "explain",
    "item_titles",
    "register",
    "sentence",
    "supported_methods",
]


@dataclass(frozen=True)
class Explanation:
    """Why ``item`` was recommended after ``history``.

    Attributes:
        item: the recommended item (index).
        method: the registered method that computed the weights.
        history: item indices, oldest first, ``(n,)``.
        weights: float64 ``(n,)``: what each history position added to the item's
            score (the method's own units; larger pushed the item up more).
        tokens: for text-enhanced models and methods that read the item's text,
            ``(word, weight)`` pairs of the recommended item's text.
        sentence: one human sentence naming the strongest reasons.
    """

    item: int
    method: str
    history: np.ndarray
    weights: np.ndarray
    tokens: tuple[tuple[str, float], ...] = ()
    sentence: str = ""

    def top(self, k: int = 3) -> list[tuple[int, float]]:
        """The ``k`` history items with the largest positive total weight, strongest first.

        A repeated history item counts once, with the sum of its positions' weights.
        """
        if len(self.history) == 0:
            return []
        items, inverse = np.unique(self.history, return_inverse=True)
        totals = np.zeros(len(items))
        np.add.at(totals, inverse, self.weights)
        order = np.argsort(-totals, kind="stable")[:k]
        return [(int(items[i]), float(totals[i])) for i in order if totals[i] > 0]


class ExplanationMethod(Protocol):
    """One way of explaining recommendations (see ``register``)."""

    name: ClassVar[str]
    """Registry name, e.g. ``"occlusion"``."""
    description: ClassVar[str]
    """One line: what the weights mean."""

    def supports(self, model: Recommender[Any]) -> bool:
        """Whether this method can explain ``model`` (a typed check, no probing)."""
        ...

    def weights(
        self, model: Recommender[Any], history: np.ndarray, items: Sequence[int]
    ) -> np.ndarray:
        """Float64 ``(len(items), len(history))``: history position j's weight for item i."""
        ...


METHODS: dict[str, ExplanationMethod] = {}
"""Registered methods by name, in order of preference (the first supported one is the
default for a model unless its family declares ``explanation_method``)."""


def register(method: ExplanationMethod) -> ExplanationMethod:
    """Add ``method`` to ``METHODS`` under its name (the name must be new)."""
    if method.name in METHODS:
        raise ValueError(f"explanation method {method.name!r} is registered twice")
    METHODS[method.name] = method
    return method


def supported_methods(model: Recommender[Any]) -> list[str]:
    """Names of the registered methods that can explain ``model``, preferred first.

    The first is the model's default: its family's ``explanation_method`` where that
    one supports it, else the first in ``METHODS``'s order.
    """
    names = [name for name, method in METHODS.items() if method.supports(model)]
    declared = model.explanation_method
    if declared in names:
        names.remove(declared)
        names.insert(0, declared)
    return names


def explain(
    model: Recommender[Any],
    history: np.ndarray,
    items: Sequence[int],
    *,
    method: str | None = None,
    encoder: ItemTextEncoder | None = None,
    item_texts: Sequence[str] | Mapping[int, str] | None = None,
) -> list[Explanation]:
    """Explain each of ``items`` recommended after ``history`` (item indices, oldest first).

    Each explanation carries one sentence naming the strongest history items by
    title (the model's ``item_table`` ``title`` column, else raw ids). An empty
    history gives the popularity explanation. For a text-enhanced sequential model,
    ``encoder`` and ``item_texts`` together fill ``tokens`` with the words of each
    item's text and the score each carries (``ssl4rec.explain.tokens``).

    Args:
        model: a fitted model.
        history: the history the items were recommended from.
        items: recommended item indices.
        method: a registered method name; ``None`` takes the model's first supported one.
        encoder: the encoder of the model's item text (for ``tokens``).
        item_texts: item texts by item index (a sequence over all items or a
            mapping holding at least ``items``), as the model's template rendered them.

    Raises:
        ConfigError: a method the model does not support (the supported ones are
            listed), an item or history index outside the catalog, ``encoder``
            without ``item_texts`` (or the reverse), or text for a model that reads
            no item text.
    """
    supported = supported_methods(model)
    if method is None:
        if not supported:
            raise ConfigError(f"no explanation method supports {type(model).__name__}")
        method = supported[0]
    elif method not in supported:
        raise ConfigError(
            f"explain(): method must be one of {supported} for {type(model).__name__}; "
            f"got {method!r}"
        )
    history = np.asarray(history, dtype=np.int64).reshape(-1)
    for item in items:
        if not 0 <= int(item) < model.num_items:
            raise ConfigError(
                f"explain(): items must be item indices in [0, {model.num_items}); got {item}"
            )
    outside = history[(history < 0) | (history >= model.num_items)]
    if len(outside):
        raise ConfigError(
            f"explain(): history must hold item indices in [0, {model.num_items}); "
            f"got {int(outside[0])}"
        )
    if (encoder is None) != (item_texts is None):
        raise ConfigError(
            "explain(): encoder and item_texts go together (the words of an item's text are "
            "re-encoded); got only " + ("encoder" if encoder is not None else "item_texts")
        )
    if encoder is not None and not reads_item_text(model):
        raise ConfigError(
            f"explain(): encoder and item_texts need a model that reads item text "
            f"(item_repr 'id+text' or 'text'); {type(model).__name__} does not"
        )
    if len(history) == 0:
        return [
            Explanation(
                item=int(item),
                method="popularity",
                history=history,
                weights=np.zeros(0),
                sentence="Popular among all users (no history to explain from).",
            )
            for item in items
        ]
    matrix = np.asarray(METHODS[method].weights(model, history, items), dtype=np.float64)
    if matrix.shape != (len(items), len(history)):
        raise RuntimeError(
            f"explanation method {method!r} returned shape {matrix.shape}; "
            f"expected {(len(items), len(history))}"
        )
    titles = item_titles(model)
    out = []
    for item, row in zip(items, matrix, strict=True):
        explanation = Explanation(item=int(item), method=method, history=history, weights=row)
        tokens: tuple[tuple[str, float], ...] = ()
        if encoder is not None and item_texts is not None:
            text = item_texts[int(item)]
            tokens = tuple(token_weights(model, encoder, history, int(item), text))
        out.append(replace(explanation, tokens=tokens, sentence=sentence(explanation, titles)))
    return out


SENTENCE_ITEMS = 2
"""How many history items a sentence names."""


def sentence(explanation: Explanation, titles: Sequence[str]) -> str:
    """One plain sentence naming the strongest history items of ``explanation`` by title.

    E.g. ``Recommended because you liked "Toy Story" and "Babe" (occlusion).``

    Args:
        explanation: the explanation (its ``top`` history items are named).
        titles: a title per item index.
    """
    top = explanation.top(SENTENCE_ITEMS)
    if not top:
        return f"No single item of your history raised this score ({explanation.method})."
    names = [f'"{titles[item]}"' for item, _ in top]
    liked = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"Recommended because you liked {liked} ({explanation.method})."


def item_titles(model: Recommender[Any]) -> list[str]:
    """A title per item index: the ``item_table`` ``title`` column, else the raw id."""
    assert model.item_vocab is not None
    ids = [str(i) for i in model.item_vocab.to_list()]
    table = model.item_table
    if table is None or "title" not in table.columns:
        return ids
    titles = table.get_column("title").to_list()
    return [str(t) if t else i for t, i in zip(titles, ids, strict=True)]

