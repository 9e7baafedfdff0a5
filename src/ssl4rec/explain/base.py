"""The one explanation interface: a weight per history item, a method name, a sentence.

An explanation method turns ``(model, history, recommended items)`` into a matrix of
weights, one row per item and one column per history position: how much that
history event pushed the item up (positive) or down (negative). Methods are objects
in one registry; each declares which models it supports with a typed check
(capability Protocols, model classes), never by probing attribute names.

Example:
    >>> supported_methods(model)
    ['occlusion', 'attention-rollout', 'integrated-gradients']
    >>> [e.sentence for e in explain(model, history, [item], method="occlusion")]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from ssl4rec.errors import ConfigError
from ssl4rec.models.base import Recommender

__all__ = [
    "METHODS",
    "Explanation",
    "ExplanationMethod",
    "explain",
    "register",
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
default for a model unless a model family declares a better one)."""


def register(method: ExplanationMethod) -> ExplanationMethod:
    """Add ``method`` to ``METHODS`` under its name (the name must be new)."""
    if method.name in METHODS:
        raise ValueError(f"explanation method {method.name!r} is registered twice")
    METHODS[method.name] = method
    return method


def supported_methods(model: Recommender[Any]) -> list[str]:
    """Names of the registered methods that can explain ``model``, preferred first."""
    return [name for name, method in METHODS.items() if method.supports(model)]


def explain(
    model: Recommender[Any],
    history: np.ndarray,
    items: Sequence[int],
    *,
    method: str | None = None,
) -> list[Explanation]:
    """Explain each of ``items`` recommended after ``history`` (item indices, oldest first).

    Args:
        model: a fitted model.
        history: the history the items were recommended from.
        items: recommended item indices.
        method: a registered method name; ``None`` takes the model's first supported one.

    Raises:
        ConfigError: a method the model does not support (the supported ones are
            listed), or an item index outside the catalog.
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
    history = np.asarray(history, dtype=np.int64)
    for item in items:
        if not 0 <= int(item) < model.num_items:
            raise ConfigError(
                f"explain(): items must be item indices in [0, {model.num_items}); got {item}"
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
    return [
        Explanation(item=int(item), method=method, history=history, weights=row)
        for item, row in zip(items, matrix, strict=True)
    ]

