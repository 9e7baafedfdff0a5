"""Fixed-score models and tiny splits shared by the evaluation tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ssl4rec.data.interactions import IdVocab, Interactions
from ssl4rec.data.splits import Split
from ssl4rec.models.base import ModelConfig, Recommender


class FixedScores(Recommender[ModelConfig]):
    """Returns rows of a fixed ``(num_users, num_items)`` score matrix."""

    name = "fixed"

    def __init__(self, scores: np.ndarray) -> None:
        super().__init__()
        self.matrix = torch.as_tensor(np.asarray(scores), dtype=torch.float32)

    def fit(self, train: Interactions, **_: Any) -> FixedScores:
        self._remember(train)
        return self

    def score_history(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        raise NotImplementedError

    def score(self, users: np.ndarray) -> torch.Tensor:
        self._check_fitted()
        return self.matrix[torch.as_tensor(np.asarray(users), dtype=torch.long)].clone()


def make_interactions(
    pairs: Sequence[tuple[int, int]], user_vocab: IdVocab, item_vocab: IdVocab
) -> Interactions:
    arr = np.asarray(pairs, dtype=np.int32).reshape(-1, 2)
    return Interactions(
        users=arr[:, 0],
        items=arr[:, 1],
        weights=np.ones(len(arr), dtype=np.float32),
        timestamps=np.arange(len(arr), dtype=np.int64),
        user_vocab=user_vocab,
        item_vocab=item_vocab,
    )


def make_split(
    num_users: int,
    num_items: int,
    train: Sequence[tuple[int, int]],
    valid: Sequence[tuple[int, int]],
    test: Sequence[tuple[int, int]],
) -> Split:
    uv = IdVocab([f"u{i}" for i in range(num_users)], name="user")
    iv = IdVocab([f"i{i}" for i in range(num_items)], name="item")
    return Split(
        train=make_interactions(train, uv, iv),
        valid=make_interactions(valid, uv, iv),
        test=make_interactions(test, uv, iv),
    )


def random_split(
    num_users: int, num_items: int, seed: int, density: float = 0.2
) -> tuple[Split, np.ndarray]:
    """A random split (every user has train and test events) and random scores."""
    rng = np.random.default_rng(seed)
    train, valid, test = [], [], []
    for u in range(num_users):
        items = rng.permutation(num_items)[: max(3, int(density * num_items))]
        test.append((u, int(items[0])))
        if len(items) > 3:
            test.append((u, int(items[3])))
        valid.append((u, int(items[1])))
        train.extend((u, int(i)) for i in items[2:3])
        train.extend((u, int(i)) for i in items[4:])
    scores = rng.standard_normal((num_users, num_items))
    return make_split(num_users, num_items, train, valid, test), scores
