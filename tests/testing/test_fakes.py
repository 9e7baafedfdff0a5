"""RandomScorer: the chance-level reference of the planted-signal test."""

from __future__ import annotations

import numpy as np
import torch

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.evaluation.evaluator import evaluate
from ssl4rec.testing.fakes import RandomScorer
from ssl4rec.testing.synthetic import block_split


@pytest.fixture(scope="module")
def split():
    return block_split()


def test_scores_are_uniform_float32_of_the_right_shape(split) -> None:
    scores = RandomScorer(split.train).score(np.arange(split.num_users))
    assert tuple(scores.shape) == (split.num_users, split.num_items)
    assert scores.dtype == torch.float32
    assert float(scores.min()) >= 0.0 and float(scores.max()) < 1.0
    assert 0.45 < float(scores.mean()) < 0.55
    assert tuple(RandomScorer(split.train).score(np.array([], dtype=np.int64)).shape) == (
        0,
        split.num_items,
    )


def test_scores_depend_on_seed_and_user_only(split) -> None:
    scorer = RandomScorer(split.train, seed=3)
    alone = scorer.score(np.array([7]))
    in_batch = scorer.score(np.array([2, 7, 5]))
    assert torch.equal(alone[0], in_batch[1])
    assert torch.equal(alone, RandomScorer(split.train, seed=3).score(np.array([7])))
    assert not torch.equal(alone, RandomScorer(split.train, seed=4).score(np.array([7])))
    assert not torch.equal(in_batch[0], in_batch[1])


def test_evaluator_accepts_it_and_ranks_at_chance(split) -> None:
    ndcg = [
        evaluate(RandomScorer(split.train, seed=s), split, metrics=("ndcg@10",)).metrics["ndcg@10"]
        for s in range(5)
    ]
    # one test item among ~40 unseen items: NDCG@10 of a random ranking is about 0.1
    assert 0.03 < float(np.mean(ndcg)) < 0.2
    assert len(set(ndcg)) > 1


def test_negative_seed_is_refused(split) -> None:
    with pytest.raises(ConfigError, match=r"RandomScorer\.seed must be ≥ 0; got -1"):
        RandomScorer(split.train, seed=-1)
