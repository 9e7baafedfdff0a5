"""Most-popular baseline: every user gets the items with the most training events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from typing_extensions import override

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.base import C, Recommender
from ssl4rec.models.configs.pop import PopConfig

__all__ = ["CountRanker", "Pop", "PopConfig"]


class CountRanker(Recommender[C]):
    """Ranks every history's candidates by one score per item, ``counts`` (Pop, DP-Pop).

    Subclasses fill ``counts`` in ``solve``; scoring and persistence are shared.
    """

    closed_form = True

    def __init__(self, config: C | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.counts: torch.Tensor | None = None

    @override
    def score_history(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        self._check_fitted()
        assert self.counts is not None
        return self.counts.unsqueeze(0).expand(len(histories), -1).clone()

    @override
    def extra_state(self) -> dict[str, torch.Tensor]:
        assert self.counts is not None
        return {"counts": self.counts}

    @override
    def load_extra_state(self, state: Mapping[str, torch.Tensor]) -> None:
        self.counts = state["counts"].float()


class Pop(CountRanker[PopConfig]):
    """Ranks items by their number of training events (ties by item index)."""

    name = "pop"
    config_class = PopConfig

    @override
    def solve(self, train: Interactions) -> None:
        self.counts = torch.from_numpy(train.item_counts.astype(np.float32))
