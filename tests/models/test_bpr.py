"""BPR-MF: contract, config validation, negative sampling."""

from __future__ import annotations

import numpy as np
import torch

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.models.bpr import BPR, BPRConfig
from ssl4rec.testing.contracts import RecommenderContract
from ssl4rec.testing.synthetic import block_split


class TestBPR(RecommenderContract):
    model_class = BPR
    tiny_config = BPRConfig(embedding_dim=16, epochs=40, batch_size=64, learning_rate=5e-2)


@pytest.mark.parametrize(
    ("field", "value"), [("embedding_dim", 0), ("num_negatives", 0), ("weight_decay", -0.1)]
)
def test_invalid_config_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        BPRConfig(**{field: value})


def test_negatives_are_unobserved() -> None:
    split = block_split()
    model = BPR(BPRConfig(num_negatives=3, batch_size=50))
    seen = split.train.csr()
    for users, pos, neg in model.batches(split.train, torch.Generator().manual_seed(0)):
        assert neg.shape == (len(users), 3)
        for u, p, row in zip(users.tolist(), pos.tolist(), neg.tolist(), strict=True):
            assert seen[u, p] == 1
            assert all(seen[u, j] == 0 for j in row)


def test_every_observed_pair_once_per_epoch() -> None:
    split = block_split()
    model = BPR(BPRConfig(batch_size=37))
    pairs = [
        (u, p)
        for users, pos, _ in model.batches(split.train, torch.Generator().manual_seed(1))
        for u, p in zip(users.tolist(), pos.tolist(), strict=True)
    ]
    assert len(pairs) == len(set(pairs)) == split.train.csr().nnz
    assert np.isfinite(len(pairs))
