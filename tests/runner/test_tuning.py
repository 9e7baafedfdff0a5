"""Grid search selects on validation only."""

from __future__ import annotations

import logging

import numpy as np

import pytest

from ssl4rec.data.interactions import IdVocab, Interactions
from ssl4rec.data.splits import Split, temporal_ratio_split
from ssl4rec.errors import ConfigError
from ssl4rec.evaluation import evaluate
from ssl4rec.models.ease import EASE
from ssl4rec.runner.tuning import grid_search


@pytest.fixture(scope="module")
def split() -> Split:
    """Users draw items from one of three overlapping popularity-skewed clusters."""
    rng = np.random.default_rng(0)
    num_users, num_items = 120, 60
    users, items = [], []
    for u in range(num_users):
        center = (u % 3) * 20
        weights = np.exp(-0.5 * ((np.arange(num_items) - center - 10) / 8.0) ** 2)
        chosen = rng.choice(num_items, size=15, replace=False, p=weights / weights.sum())
        users.extend([u] * len(chosen))
        items.extend(chosen.tolist())
    data = Interactions(
        users=np.asarray(users),
        items=np.asarray(items),
        weights=np.ones(len(users)),
        timestamps=rng.permutation(len(users)),
        user_vocab=IdVocab(range(num_users), name="user"),
        item_vocab=IdVocab(range(num_items), name="item"),
    )
    return temporal_ratio_split(data)


def test_grid_search_picks_best_validation_lambda(split: Split, caplog) -> None:
    grid = {"l2_reg": [0.1, 10.0, 100.0, 10000.0]}
    with caplog.at_level(logging.INFO, logger="ssl4rec.runner.tuning"):
        best, table = grid_search(lambda p: EASE(**p), grid, split, metric="ndcg@10")
    # the choice must be the argmax of validation NDCG computed independently
    valid = [
        evaluate(EASE(l2_reg=lam).fit(split.train), split, part="valid").metrics["ndcg@10"]
        for lam in grid["l2_reg"]
    ]
    assert best == {"l2_reg": grid["l2_reg"][int(np.argmax(valid))]}
    assert [row["ndcg@10"] for row in table] == pytest.approx(valid)
    assert [row["l2_reg"] for row in table] == grid["l2_reg"]
    assert len(set(valid)) > 1  # the grid actually matters on this data
    assert sum("trial done" in r.message for r in caplog.records) == 4


def test_grid_search_never_reads_test(split: Split) -> None:
    # a split whose test part is empty still tunes: only train and valid are read
    empty_test = Split(
        train=split.train, valid=split.valid, test=split.test.select(np.array([], dtype=np.int64))
    )
    best, table = grid_search(lambda p: EASE(**p), {"l2_reg": [1.0, 50.0]}, empty_test)
    assert "l2_reg" in best and len(table) == 2


def test_grid_search_validates_inputs(split: Split) -> None:
    with pytest.raises(ConfigError, match="grid must name at least one parameter"):
        grid_search(lambda p: EASE(**p), {}, split)
    with pytest.raises(ConfigError, match=r"grid\['l2_reg'\] must be a non-empty list"):
        grid_search(lambda p: EASE(**p), {"l2_reg": []}, split)
    with pytest.raises(ConfigError, match="did you mean 'ndcg'"):
        grid_search(lambda p: EASE(**p), {"l2_reg": [1.0]}, split, metric="ndgc@10")
