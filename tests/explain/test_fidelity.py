"""Fidelity: deletion and insertion curves against explanations with known quality.

The methods here are registered by the tests themselves (``monkeypatch.setitem`` on
``METHODS``): exact EASE contributions (the true per-item parts of the score), the
same reversed, random weights, exact weights of a hand-built linear model whose
curves are computed by hand, and recency for a model that reads only the last item.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import polars as pl
import torch

import pytest

from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import ConfigError, DataError
from ssl4rec.explain import METHODS
from ssl4rec.explain.fidelity import compare_fidelity, fidelity
from ssl4rec.models.base import ModelConfig, Recommender, histories_to_csr
from ssl4rec.models.ease import EASE
from ssl4rec.testing.synthetic import block_interactions, cycle_data


class ExactLinear:
    """A linear model's true contributions: ``weights[history, item]``."""

    name: ClassVar[str] = "test-exact"
    description: ClassVar[str] = "the exact part of the score each history item adds"

    def __init__(self, sign: float = 1.0) -> None:
        self.sign = sign

    def supports(self, model: Recommender[Any]) -> bool:
        return isinstance(model, (EASE, Linear))

    def weights(self, model: Any, history: np.ndarray, items: Sequence[int]) -> np.ndarray:
        w = model.weights.numpy()
        return self.sign * w[np.ix_(np.asarray(history), np.asarray(items))].T


class RandomWeights:
    name: ClassVar[str] = "test-random"
    description: ClassVar[str] = "noise"

    def __init__(self) -> None:
        self.rng = np.random.default_rng(1)

    def supports(self, model: Recommender[Any]) -> bool:
        return True

    def weights(self, model: Any, history: np.ndarray, items: Sequence[int]) -> np.ndarray:
        return self.rng.standard_normal((len(items), len(history)))


class Recency:
    name: ClassVar[str] = "test-recency"
    description: ClassVar[str] = "later events weigh more"

    def supports(self, model: Recommender[Any]) -> bool:
        return isinstance(model, LastItem)

    def weights(self, model: Any, history: np.ndarray, items: Sequence[int]) -> np.ndarray:
        return np.tile(np.arange(1.0, len(history) + 1), (len(items), 1))


class LastItem(Recommender[ModelConfig]):
    """Scores = a fixed random row of the last history item (zeros for no history)."""

    name = "test-last-item"
    closed_form = True
    is_sequential = True

    def solve(self, train: Interactions) -> None:
        self.table = np.random.default_rng(0).standard_normal((train.num_items,) * 2)

    def score_history(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        rows = [self.table[h[-1]] if len(h) else np.zeros(self.num_items) for h in histories]
        return torch.from_numpy(np.array(rows, dtype=np.float32).reshape(-1, self.num_items))


class Linear(Recommender[ModelConfig]):
    """Scores = binary history @ a fixed item × item matrix (set before fitting)."""

    name = "test-linear"
    closed_form = True
    matrix: ClassVar[dict[tuple[str, str], float]] = {}

    def solve(self, train: Interactions) -> None:
        assert self.item_vocab is not None
        w = np.zeros((train.num_items, train.num_items), dtype=np.float32)
        for (src, dst), value in self.matrix.items():
            w[self.item_vocab.index(src), self.item_vocab.index(dst)] = value
        self.weights = torch.from_numpy(w)

    def score_history(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        x = histories_to_csr(histories, self.num_items)
        return torch.from_numpy(np.asarray(x @ self.weights.numpy(), dtype=np.float32))


@pytest.fixture()
def methods(monkeypatch):
    for method in (ExactLinear(), RandomWeights(), Recency()):
        monkeypatch.setitem(METHODS, method.name, method)
    reversed_ = ExactLinear(sign=-1.0)
    reversed_.name = "test-reversed"  # type: ignore[misc]
    monkeypatch.setitem(METHODS, "test-reversed", reversed_)


@pytest.fixture(scope="module")
def blocks():
    return block_interactions(num_users=300, num_items=60, num_blocks=3, density=0.25, seed=3)


@pytest.fixture(scope="module")
def ease(blocks):
    return EASE(l2_reg=10.0).fit(blocks)


def test_curves_of_a_hand_built_linear_model(monkeypatch, methods):
    # u0 saw a then b; v and w have one event each, so only u0 is sampled.
    events = [("u0", "a", 0), ("u0", "b", 1), ("v", "c", 0), ("w", "d", 0)]
    data = Interactions.from_frame(
        pl.DataFrame(events, schema=["user_id", "item_id", "ts"], orient="row"), time_col="ts"
    )
    # c's score: 2 from a, 1 from b; d's: 1.5 from b. Target of u0: c (3 > 1.5).
    monkeypatch.setattr(Linear, "matrix", {("a", "c"): 2.0, ("b", "c"): 1.0, ("b", "d"): 1.5})
    model = Linear().fit(data)
    result = fidelity(model, data, "test-exact", users=5)
    assert result["users"] == 1
    # deletion by weight (a, then b): c ranks 1, then 2 (1 < 1.5), then tied with d at 0
    assert result["deletion_auc"] == pytest.approx((1 + 1 / 2 + 1 / 1.5) / 3)
    # the most recent first (b, then a): 1, 1 (2 > 0), tied
    assert result["recent_deletion_auc"] == pytest.approx((1 + 1 + 1 / 1.5) / 3)
    # insertion: empty (tied), a alone (2 > 0), a and b
    assert result["insertion_auc"] == pytest.approx((1 / 1.5 + 1 + 1) / 3)
    # two positions: the random order is one of the two orders above
    assert result["random_deletion_auc"] in (
        pytest.approx(result["deletion_auc"]),
        pytest.approx(result["recent_deletion_auc"]),
    )


def test_exact_ease_contributions_beat_random_deletion(ease, blocks, methods):
    exact = fidelity(ease, blocks, "test-exact", users=200)
    noise = fidelity(ease, blocks, "test-random", users=200)
    assert exact["users"] == 200
    assert exact["share_beats_random"] > 0.8
    assert exact["deletion_auc"] < exact["random_deletion_auc"] - 0.1
    assert exact["deletion_auc"] < exact["recent_deletion_auc"]
    assert exact["insertion_auc"] > noise["insertion_auc"] + 0.1


def test_random_weights_beat_random_deletion_about_half_the_time(ease, blocks, methods):
    noise = fidelity(ease, blocks, "test-random", users=200)
    assert 0.38 < noise["share_beats_random"] < 0.62
    assert noise["deletion_auc"] == pytest.approx(noise["random_deletion_auc"], abs=0.05)


def test_reversed_contributions_lose_to_random(ease, blocks, methods):
    reversed_ = fidelity(ease, blocks, "test-reversed", users=200)
    assert reversed_["share_beats_random"] < 0.2
    assert reversed_["deletion_auc"] > reversed_["random_deletion_auc"]


def test_a_last_item_model_explained_by_recency(methods):
    # The model reads only the last item, so recency weights are its true explanation.
    data = cycle_data(num_users=50, num_items=20, length=8)
    model = LastItem().fit(data)
    result = fidelity(model, data, "test-recency", users=50)
    assert result["deletion_auc"] == result["recent_deletion_auc"]  # the same order
    assert result["share_beats_random"] > 0.8
    # Insertion keeps time order: with k ≥ 1 of the most recent items, the last item is
    # the true last one and the target ranks first; the empty history ties every
    # candidate (8 distinct history items, 12 candidates: rank 1 + 11 / 2).
    assert result["insertion_auc"] == pytest.approx((1 / 6.5 + 8) / 9)


def test_seeded_sample_and_baseline(ease, blocks, methods):
    first = fidelity(ease, blocks, "test-exact", users=50, seed=7)
    assert fidelity(ease, blocks, "test-exact", users=50, seed=7) == first
    other = fidelity(ease, blocks, "test-exact", users=50, seed=8)
    assert other["random_deletion_auc"] != first["random_deletion_auc"]


def test_comparing_methods_measures_each_as_alone(ease, blocks, methods):
    both = compare_fidelity(ease, blocks, ["test-reversed", "test-exact"], users=50, seed=7)
    assert list(both) == ["test-reversed", "test-exact"]
    assert both["test-exact"] == fidelity(ease, blocks, "test-exact", users=50, seed=7)
    assert both["test-reversed"] == fidelity(ease, blocks, "test-reversed", users=50, seed=7)
    assert both["test-exact"]["deletion_auc"] < both["test-reversed"]["deletion_auc"]


def test_bad_arguments_are_named(ease, blocks, methods):
    with pytest.raises(ConfigError, match="users must be an integer ≥ 1; got 0"):
        fidelity(ease, blocks, "test-exact", users=0)
    with pytest.raises(ConfigError, match="must be one of .*test-exact.*got 'test-recency'"):
        fidelity(ease, blocks, "test-recency", users=5)
    other = block_interactions(num_users=30, num_items=12)
    with pytest.raises(DataError, match="the model knows 300 and 60"):
        fidelity(ease, other, "test-exact", users=5)
