"""Tiny synthetic datasets with a planted signal, for fast model tests.

``block_interactions`` builds a block-diagonal ("checkerboard") user × item matrix:
users of group g consume only items of group g. A collaborative model that learns
anything recovers a user's group from their history and ranks the group's unseen
items first; a popularity ranking cannot, so it scores about ``1 / num_blocks``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ssl4rec.data.interactions import Interactions
from ssl4rec.data.splits import Split, leave_one_out, temporal_ratio_split

__all__ = [
    "TINY_SEQUENTIAL",
    "block_interactions",
    "block_split",
    "cycle_data",
    "cycle_split",
]


def block_interactions(
    *,
    num_users: int = 80,
    num_items: int = 48,
    num_blocks: int = 4,
    density: float = 0.6,
    seed: int = 0,
) -> Interactions:
    """Block-diagonal implicit feedback with random timestamps.

    Args:
        num_users: Users, spread evenly over the blocks.
        num_items: Items, spread evenly over the blocks.
        num_blocks: Groups; user u and item i share a group when
            ``u % num_blocks == i % num_blocks``.
        density: Probability that a user consumes an item of their own group.
        seed: Seed of the sampling.

    Returns:
        ``Interactions`` with raw ids ``"u0"..``, ``"i0"..`` (every user has at least
        three events, so a temporal split leaves train history for everybody).
    """
    rng = np.random.default_rng(seed)
    users: list[str] = []
    items: list[str] = []
    for u in range(num_users):
        own = np.arange(u % num_blocks, num_items, num_blocks)  # items of u's group
        chosen = own[rng.random(len(own)) < density]
        if len(chosen) < 3:
            chosen = rng.choice(own, size=min(3, len(own)), replace=False)
        users.extend([f"u{u}"] * len(chosen))
        items.extend(f"i{i}" for i in chosen)
    frame = pl.DataFrame(
        {
            "user_id": users,
            "item_id": items,
            "timestamp": rng.permutation(len(users)).astype(np.int64),
        }
    )
    return Interactions.from_frame(frame, time_col="timestamp", name="blocks")


def block_split(**kwargs: object) -> Split:
    """``temporal_ratio_split`` of ``block_interactions(**kwargs)`` (one valid/test event each)."""
    return temporal_ratio_split(block_interactions(**kwargs))  # type: ignore[arg-type]


TINY_SEQUENTIAL: dict[str, object] = {
    "embedding_dim": 16,
    "num_layers": 1,
    "num_heads": 2,
    "ff_dim": 32,
    "dropout": 0.0,
    "batch_size": 32,
    "learning_rate": 1e-2,
    "max_seq_len": 8,
}
"""A sequential-model config small enough to fit in about a second on one CPU thread."""


def cycle_data(
    num_users: int = 40, num_items: int = 12, length: int = 10, seed: int = 0
) -> Interactions:
    """Planted next-item signal: each user walks the item cycle from a random start.

    User u's events are ``i(s), i(s+1), ...`` (mod ``num_items``), so the next item is
    always the last one plus one. Items carry titles ("movie number i").
    """
    rng = np.random.default_rng(seed)
    rows = [
        (f"u{u}", f"i{(int(start) + t) % num_items}", t)
        for u, start in enumerate(rng.integers(num_items, size=num_users))
        for t in range(length)
    ]
    frame = pl.DataFrame(rows, schema=["user_id", "item_id", "ts"], orient="row")
    items = pl.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(num_items)],
            "title": [f"movie number {i}" for i in range(num_items)],
        }
    )
    return Interactions.from_frame(frame, time_col="ts", item_table=items)


def cycle_split(num_users: int = 40, num_items: int = 20, length: int = 10, seed: int = 0) -> Split:
    """Leave-one-out split of ``cycle_data``: test is each user's next cycle step.

    The cycle is longer than ``cycle_data``'s by default, so every user keeps 12
    items outside the 8 training events: enough for a top-k with seen items
    excluded, and Pop (test NDCG@10 about 0.44) stays far from a model that learned
    the cycle (about 1.0).
    """
    return leave_one_out(cycle_data(num_users, num_items, length, seed))
