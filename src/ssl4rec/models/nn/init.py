"""Seeded parameter initialisation without touching the caller's global RNG."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["seeded"]


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the block with torch's CPU RNG seeded by ``seed``, then restore the old state.

    Use around module construction so that ``Model(seed=s).fit(...)`` initialises the
    same weights every time, without global seeding side effects.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
