"""The batched evaluator against hand-computed cases and a naive reference."""

from __future__ import annotations

import json
import math

import numpy as np

import pytest

from ssl4rec.errors import ConfigError, DataError
from ssl4rec.evaluation import evaluate, evaluate_interactions
from ssl4rec.models.ease import EASE

from ._helpers import FixedScores, make_split, random_split

# 2 users, 4 items.
#   train: u0 -> i0; u1 -> i3.   valid: u0 -> i2.   test: u0 -> i1, u1 -> i2.
#   scores: u0 ranks i0 > i1 > i2 > i3; u1 ranks i3 > i0 > i2 > i1.
TINY_SCORES = np.array([[4.0, 3.0, 2.0, 1.0], [3.0, 1.0, 2.0, 4.0]])


@pytest.fixture
def tiny() -> tuple[FixedScores, object]:
    split = make_split(2, 4, train=[(0, 0), (1, 3)], valid=[(0, 2)], test=[(0, 1), (1, 2)])
    return FixedScores(TINY_SCORES).fit(split.train), split


def test_exclude_seen_masks_earlier_parts(tiny) -> None:
    model, split = tiny
    masked = evaluate(model, split, metrics=["hit@1", "mrr@4", "ndcg@4"])
    # exclude_seen: u0 loses i0 (train) and i2 (valid) -> ranking [i1, i3]; i1 at rank 1
    #               u1 loses i3 -> ranking [i0, i2, i1]; i2 at rank 2
    np.testing.assert_allclose(masked.per_user["hit@1"], [1.0, 0.0])
    np.testing.assert_allclose(masked.per_user["mrr@4"], [1.0, 0.5])
    # ndcg u1 = (1 / log2(3)) / 1
    np.testing.assert_allclose(masked.per_user["ndcg@4"], [1.0, 1 / math.log2(3)])
    assert masked.exclude_seen and masked.protocol == "full" and masked.part == "test"

    plain = evaluate(model, split, metrics=["hit@1", "mrr@4"], exclude_seen=False)
    # no masking: u0 ranking [i0, i1, i2, i3] -> i1 at rank 2; u1 [i3, i0, i2, i1] -> rank 3
    np.testing.assert_allclose(plain.per_user["hit@1"], [0.0, 0.0])
    np.testing.assert_allclose(plain.per_user["mrr@4"], [0.5, 1 / 3])
    assert not plain.exclude_seen


def test_valid_part_masks_train_only(tiny) -> None:
    model, split = tiny
    result = evaluate(model, split, part="valid", metrics=["mrr@4"])
    # only u0 has a valid event (i2); train i0 masked -> ranking [i1, i2, i3] -> rank 2
    np.testing.assert_array_equal(result.users, [0])
    np.testing.assert_allclose(result.per_user["mrr@4"], [0.5])


def test_nan_scores_never_hit(tiny) -> None:
    _, split = tiny
    model = FixedScores(np.full((2, 4), np.nan)).fit(split.train)
    result = evaluate(
        model, split, metrics=["hit@4", "recall@4", "ndcg@4", "coverage@4"], exclude_seen=False
    )
    # every item is in the top 4 of 4, but NaN-scored items are never recommended
    assert result.metrics["hit@4"] == 0.0
    assert result.metrics["recall@4"] == 0.0
    assert result.metrics["ndcg@4"] == 0.0
    assert result.metrics["coverage@4"] == 0.0


def test_partial_nan_ranks_last_and_is_not_a_hit(tiny) -> None:
    _, split = tiny
    # u0's relevant i1 has NaN; u1's relevant i2 has the lowest finite score
    scores = np.array([[1.0, np.nan, 0.5, 0.2], [0.9, 0.8, -5.0, np.nan]])
    model = FixedScores(scores).fit(split.train)
    result = evaluate(model, split, metrics=["hit@4", "mrr@4"], exclude_seen=False)
    np.testing.assert_allclose(result.per_user["hit@4"], [0.0, 1.0])
    np.testing.assert_allclose(result.per_user["mrr@4"], [0.0, 1 / 3])


def test_masked_items_are_never_recommended(tiny) -> None:
    model, split = tiny
    result = evaluate(model, split, metrics=["avg_pop@4", "coverage@4"])
    # train popularity: i0 = 1, i3 = 1, i1 = i2 = 0
    # u0 (i0, i2 masked) lists [i1, i3] -> (0 + 1) / 2 = 0.5
    # u1 (i3 masked) lists [i0, i2, i1] -> (1 + 0 + 0) / 3 = 1/3
    # (had the masked items been listed: u1 would be (1 + 0 + 0 + 1) / 4 = 0.5)
    np.testing.assert_allclose(result.per_user["avg_pop@4"], [0.5, 1 / 3])


def test_infinite_scores(tiny) -> None:
    _, split = tiny
    # -inf from the model means "never"; +inf is a valid (top) score
    scores = np.array([[np.inf, -np.inf, 0.0, 0.0], [0.0, 0.0, -np.inf, np.inf]])
    model = FixedScores(scores).fit(split.train)
    result = evaluate(model, split, metrics=["hit@4", "mrr@4"], exclude_seen=False)
    np.testing.assert_allclose(result.per_user["hit@4"], [0.0, 0.0])
    sampled = evaluate(
        model, split, metrics=["hit@4"], exclude_seen=False, sampled_negatives=2, seed=3
    )
    np.testing.assert_allclose(sampled.per_user["hit@4"], [0.0, 0.0])


def test_k_larger_than_catalogue(tiny) -> None:
    model, split = tiny
    result = evaluate(model, split, metrics=["recall@50", "precision@50", "hit@50"])
    # all unmasked items are listed, so every test item is found
    assert result.metrics["recall@50"] == 1.0
    # precision divides by K = 50: one hit each
    assert result.metrics["precision@50"] == pytest.approx(1 / 50)


ALL_METRICS = [
    "ndcg@5",
    "recall@5",
    "hit@3",
    "mrr@5",
    "precision@5",
    "map@5",
    "coverage@5",
    "diversity@5",
    "novelty@5",
    "gini@5",
    "avg_pop@5",
    "tail@5",
    "ndcg@10",
]


def test_batch_size_independence() -> None:
    split, scores = random_split(37, 25, seed=1)
    model = FixedScores(scores).fit(split.train)
    vectors = np.random.default_rng(2).standard_normal((25, 4))
    one = evaluate(model, split, metrics=ALL_METRICS, batch_size=1, item_vectors=vectors)
    big = evaluate(model, split, metrics=ALL_METRICS, batch_size=1024, item_vectors=vectors)
    seven = evaluate(model, split, metrics=ALL_METRICS, batch_size=7, item_vectors=vectors)
    assert one.metrics == big.metrics == seven.metrics
    for name in one.per_user:
        np.testing.assert_array_equal(one.per_user[name], big.per_user[name])
    np.testing.assert_array_equal(one.users, big.users)


def _reference(scores: np.ndarray, split, k: int) -> dict[str, float]:
    """Naive per-user loop: mask train + valid, sort, compute NDCG and Recall at k."""
    seen = split.seen_before("test").toarray() > 0
    truth = split.test.csr().toarray() > 0
    ndcgs, recalls = [], []
    for u in range(scores.shape[0]):
        if not truth[u].any():
            continue
        s = np.where(seen[u], -np.inf, scores[u])
        ranked = np.argsort(-s, kind="stable")[:k]
        rel = truth[u][ranked]
        dcg = sum(1 / math.log2(j + 2) for j in range(k) if rel[j])
        idcg = sum(1 / math.log2(j + 2) for j in range(min(truth[u].sum(), k)))
        ndcgs.append(dcg / idcg)
        recalls.append(rel.sum() / truth[u].sum())
    return {"ndcg": float(np.mean(ndcgs)), "recall": float(np.mean(recalls))}


def test_matches_naive_reference() -> None:
    split, scores = random_split(50, 40, seed=3)
    model = FixedScores(scores).fit(split.train)
    result = evaluate(model, split, metrics=["ndcg@10", "recall@10"])
    ref = _reference(scores, split, 10)
    assert result.metrics["ndcg@10"] == pytest.approx(ref["ndcg"], abs=1e-12)
    assert result.metrics["recall@10"] == pytest.approx(ref["recall"], abs=1e-12)
    assert result.num_users == 50 and len(result.users) == 50


def test_sampled_protocol_is_labelled_and_seeded() -> None:
    split, scores = random_split(30, 40, seed=4)
    model = FixedScores(scores).fit(split.train)
    metrics = ["ndcg@5", "hit@5"]
    a = evaluate(model, split, metrics=metrics, sampled_negatives=5, seed=0)
    b = evaluate(model, split, metrics=metrics, sampled_negatives=5, seed=0, batch_size=4)
    c = evaluate(model, split, metrics=metrics, sampled_negatives=5, seed=1)
    full = evaluate(model, split, metrics=metrics)
    assert a.protocol == "sampled-5" and full.protocol == "full"
    assert a.to_dict()["protocol"] == "sampled-5"
    assert a.metrics == b.metrics  # the same seed gives the same negatives at any batch size
    assert a.metrics != c.metrics
    # ranking against 5 negatives is easier than against all items
    assert a.metrics["hit@5"] >= full.metrics["hit@5"]


def test_sampled_with_every_negative_equals_full_ranking() -> None:
    split, scores = random_split(20, 15, seed=5)
    model = FixedScores(scores).fit(split.train)
    metrics = ["ndcg@10", "recall@10", "map@10", "mrr@10"]
    full = evaluate(model, split, metrics=metrics)
    sampled = evaluate(model, split, metrics=metrics, sampled_negatives=1000)
    for name in metrics:
        np.testing.assert_allclose(sampled.per_user[name], full.per_user[name])


def test_sampled_rejects_beyond_accuracy_and_bad_counts(tiny) -> None:
    model, split = tiny
    with pytest.raises(ConfigError, match="beyond-accuracy metrics need full ranking"):
        evaluate(model, split, metrics=["coverage@2"], sampled_negatives=2)
    with pytest.raises(ConfigError, match="sampled_negatives must be an integer ≥ 1"):
        evaluate(model, split, sampled_negatives=0)


def test_beyond_accuracy_on_tiny_case(tiny) -> None:
    model, split = tiny
    result = evaluate(
        model,
        split,
        metrics=["coverage@1", "avg_pop@1", "novelty@1", "gini@1"],
        item_vectors=np.eye(4),
    )
    # exclude_seen top-1: u0 -> i1, u1 -> i0; coverage 2/4
    assert result.metrics["coverage@1"] == 0.5
    # train popularity: i0 = 1, i1 = 0, i3 = 1 -> avg_pop u0 = 0, u1 = 1
    np.testing.assert_allclose(result.per_user["avg_pop@1"], [0.0, 1.0])
    # 2 train users; novelty -log2(max(pop, 1) / 2) = 1 for both
    np.testing.assert_allclose(result.per_user["novelty@1"], [1.0, 1.0])
    # counts [1, 1, 0, 0] sorted [0, 0, 1, 1]: ((2*3-5)*1 + (2*4-5)*1) / (4*2) = 4/8
    assert result.metrics["gini@1"] == pytest.approx(0.5)
    assert "coverage@1" not in result.per_user


def test_popularity_from_model_history_when_train_is_none(tiny) -> None:
    model, split = tiny
    a = evaluate_interactions(
        model, split.test, seen=split.seen_before("test"), metrics=["avg_pop@2"], train=None
    )
    b = evaluate_interactions(
        model, split.test, seen=split.seen_before("test"), metrics=["avg_pop@2"], train=split.train
    )
    assert a.metrics == b.metrics


def test_diversity_without_vectors_or_genres_fails(tiny) -> None:
    model, split = tiny
    with pytest.raises(ConfigError, match="diversity@2 needs item_vectors"):
        evaluate(model, split, metrics=["diversity@2"])
    with pytest.raises(DataError, match=r"item_vectors must have shape \(4, d\)"):
        evaluate(model, split, metrics=["diversity@2"], item_vectors=np.ones((3, 2)))


def test_explicit_users_and_errors(tiny) -> None:
    model, split = tiny
    result = evaluate_interactions(
        model, split.test, seen=None, metrics=["hit@4"], users=np.array([1])
    )
    np.testing.assert_array_equal(result.users, [1])
    assert result.part == "custom" and not result.exclude_seen
    with pytest.raises(DataError, match=r"users must be in \[0, 2\)"):
        evaluate_interactions(model, split.test, seen=None, users=np.array([5]))
    with pytest.raises(DataError, match="seen must have shape"):
        evaluate_interactions(model, split.test, seen=split.test.csr()[:1])
    with pytest.raises(ConfigError, match="batch_size must be an integer ≥ 1; got 0"):
        evaluate(model, split, batch_size=0)
    with pytest.raises(ConfigError, match="part must be 'valid' or 'test'"):
        evaluate(model, split, part="train", exclude_seen=False)
    with pytest.raises(ConfigError, match="did you mean 'recall'"):
        evaluate(model, split, metrics=["recal@10"])


def test_wrong_score_shape_is_reported(tiny) -> None:
    _, split = tiny
    model = FixedScores(np.zeros((2, 3))).fit(split.train)
    model.matrix = model.matrix[:, :3]
    with pytest.raises(DataError, match=r"score returned shape \(2, 3\); expected \(2, 4\)"):
        evaluate(model, split)


def test_result_exports(tiny) -> None:
    model, split = tiny
    result = evaluate(model, split, metrics=["ndcg@2", "coverage@2"])
    json.dumps(result.to_dict())
    frame = result.to_frame()
    assert frame.columns[:2] == ["metric", "value"] and frame.height == 2
    per_user = result.per_user_frame()
    assert per_user.columns == ["user", "ndcg@2"] and per_user.height == 2
    assert result.mean("NDCG@2") == result.metrics["ndcg@2"]
    with pytest.raises(ConfigError, match="'ndcg@3' was not evaluated"):
        result.mean("ndcg@3")


def test_ease_beats_random_scores_on_planted_blocks() -> None:
    # two item blocks; users in block b interact with items of block b only
    rng = np.random.default_rng(0)
    train, test = [], []
    for u in range(40):
        block = u % 2
        items = rng.permutation(10)[:6] + 10 * block
        train.extend((u, int(i)) for i in items[:5])
        test.append((u, int(items[5])))
    split = make_split(40, 20, train, [], test)
    ease = EASE(l2_reg=1.0).fit(split.train)
    rand = FixedScores(rng.standard_normal((40, 20))).fit(split.train)
    good = evaluate(ease, split, metrics=["ndcg@5"]).metrics["ndcg@5"]
    bad = evaluate(rand, split, metrics=["ndcg@5"]).metrics["ndcg@5"]
    assert good > bad
