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
from ssl4rec.data.splits import Split, temporal_ratio_split

__all__ = ["block_interactions", "block_split"]


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
    users, items = [], []
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
