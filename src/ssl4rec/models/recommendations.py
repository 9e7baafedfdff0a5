"""The result of ``Recommender.recommend``: top-k raw ids and scores per user."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

__all__ = ["Recommendations"]


@dataclass(frozen=True)
class Recommendations:
    """Top-k result for several users: raw ids and scores, best first.

    Attributes:
        users: raw user ids, shape ``(n,)``.
        items: raw item ids, shape ``(n, k)``.
        scores: float32 scores, shape ``(n, k)``.
        item_indices: item indices, shape ``(n, k)``.
    """

    users: np.ndarray
    items: np.ndarray
    scores: np.ndarray
    item_indices: np.ndarray

    def to_frame(self) -> pl.DataFrame:
        """One row per (user, rank): user, rank, item, score."""
        n, k = self.items.shape
        return pl.DataFrame(
            {
                "user": np.repeat(self.users.astype(str), k),
                "rank": np.tile(np.arange(1, k + 1), n),
                "item": self.items.reshape(-1).astype(str),
                "score": self.scores.reshape(-1),
            }
        )
