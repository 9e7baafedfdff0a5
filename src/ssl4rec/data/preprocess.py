"""Cleaning steps: deduplication, implicit feedback, k-core, minimum history.

Each step takes ``Interactions`` and returns a new one; vocabularies are shrunk to
the ids that remain (in their original order).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ssl4rec.config.base import Checks
from ssl4rec.data.interactions import Interactions

__all__ = [
    "PreprocessConfig",
    "count_exact_duplicates",
    "dedupe",
    "implicit",
    "k_core",
    "min_history",
    "preprocess",
]

logger = logging.getLogger(__name__)


def dedupe(data: Interactions, *, keep: Literal["latest", "first"] = "latest") -> Interactions:
    """Keep one event per (user, item): the latest in time (ties: the later in the file)."""
    if len(data) == 0:
        return data
    order = np.argsort(data.timestamps, kind="stable")
    if keep == "latest":
        order = order[::-1]  # latest first; among equal times the later source row first
    key = data.users[order].astype(np.int64) * data.num_items + data.items[order]
    _, first = np.unique(key, return_index=True)
    kept = np.sort(order[first])  # back to source order
    if len(kept) < len(data):
        logger.info("dedupe: removed=%d kept=%d", len(data) - len(kept), len(kept))
    return data.select(kept).reindexed()


def count_exact_duplicates(data: Interactions) -> int:
    """Events whose (user, item, timestamp) already occurred earlier in ``data``."""
    if len(data) == 0:
        return 0
    rows = np.stack(
        [data.users.astype(np.int64), data.items.astype(np.int64), data.timestamps], axis=1
    )  # (n, 3)
    return len(data) - len(np.unique(rows, axis=0))


def implicit(data: Interactions, *, threshold: float | None = None) -> Interactions:
    """Drop events with weight below ``threshold`` (if given) and set weights to 1."""
    kept = data if threshold is None else data.select(np.flatnonzero(data.weights >= threshold))
    out = Interactions(
        users=kept.users,
        items=kept.items,
        weights=np.ones(len(kept), dtype=np.float32),
        timestamps=kept.timestamps,
        user_vocab=kept.user_vocab,
        item_vocab=kept.item_vocab,
        item_table=kept.item_table,
        user_table=kept.user_table,
        name=kept.name,
    )
    return out.reindexed()


def k_core(data: Interactions, *, user_k: int = 5, item_k: int = 5) -> Interactions:
    """Iteratively drop users with < ``user_k`` and items with < ``item_k`` events."""
    mask = np.ones(len(data), dtype=bool)
    while True:
        u_cnt = np.bincount(data.users[mask], minlength=data.num_users)
        i_cnt = np.bincount(data.items[mask], minlength=data.num_items)
        new = mask & (u_cnt[data.users] >= user_k) & (i_cnt[data.items] >= item_k)
        if new.sum() == mask.sum():
            break
        mask = new
    return data.select(np.flatnonzero(mask)).reindexed()


def min_history(data: Interactions, *, min_events: int) -> Interactions:
    """Drop users with fewer than ``min_events`` events (one pass)."""
    keep = data.user_counts[data.users] >= min_events
    return data.select(np.flatnonzero(keep)).reindexed()


@dataclass(frozen=True, kw_only=True)
class PreprocessConfig:
    """Cleaning applied after loading, in this order."""

    dedupe: bool = False
    """Keep only the latest event per (user, item)."""
    implicit: bool = True
    """Convert to implicit feedback (weights set to 1)."""
    rating_threshold: float | None = None
    """With ``implicit``: drop events whose rating is below this value."""
    user_k: int = 0
    """k-core: minimum events per user (0 = off)."""
    item_k: int = 0
    """k-core: minimum events per item (0 = off)."""
    min_history: int = 0
    """Drop users with fewer events than this after k-core (0 = off)."""

    def __post_init__(self) -> None:
        c = Checks("PreprocessConfig")
        c.non_negative("user_k", self.user_k)
        c.non_negative("item_k", self.item_k)
        c.non_negative("min_history", self.min_history)
        c.raise_if_any()


def preprocess(data: Interactions, config: PreprocessConfig) -> Interactions:
    """Apply the configured steps: dedupe, implicit, k-core, minimum history."""
    n0 = len(data)
    if config.dedupe:
        data = dedupe(data)
    else:
        repeated = count_exact_duplicates(data)
        if repeated:
            logger.warning(
                "preprocess: %d events repeat an earlier (user, item, timestamp) exactly and "
                "are kept; set data.preprocess.dedupe: true to keep one event per (user, item)",
                repeated,
            )
    if config.implicit:
        data = implicit(data, threshold=config.rating_threshold)
    if config.user_k or config.item_k:
        data = k_core(data, user_k=config.user_k, item_k=config.item_k)
    if config.min_history:
        data = min_history(data, min_events=config.min_history)
    logger.info(
        "preprocess done: events=%d->%d users=%d items=%d", n0, len(data), data.num_users, data.num_items
    )
    return data
