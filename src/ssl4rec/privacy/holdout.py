"""The audit's non-members: a seeded share of users held out of training entirely."""

from __future__ import annotations

import dataclasses

import numpy as np

from ssl4rec.data.interactions import Interactions
from ssl4rec.data.splits import Split

__all__ = ["hold_out_users"]


def hold_out_users(split: Split, fraction: float, seed: int) -> tuple[Split, Interactions]:
    """Remove a seeded ``fraction`` of the training users from every part of ``split``.

    Returns:
        The split without them (train, valid and test) and the held-out users'
        training-part events (what a membership-inference audit compares members'
        training events with).
    """
    users = split.train.active_users
    rng = np.random.default_rng(seed)
    count = int(round(fraction * len(users)))
    held = np.sort(rng.choice(users, size=count, replace=False)) if count else users[:0]

    def keep(part: Interactions) -> Interactions:
        return part.select(~np.isin(part.users, held))

    nonmembers = split.train.select(np.isin(split.train.users, held))
    out = dataclasses.replace(
        split, train=keep(split.train), valid=keep(split.valid), test=keep(split.test)
    )
    return out, nonmembers
