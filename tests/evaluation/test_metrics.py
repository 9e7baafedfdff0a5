"""Metric functions on hand-computed cases, properties, and metric-name parsing."""

from __future__ import annotations

import math

import numpy as np

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssl4rec.errors import ConfigError
from ssl4rec.evaluation import metrics as M
from ssl4rec.evaluation.metrics import Metric, parse_metric, parse_metrics

# Two users, K = 4.
#   user 0: ranks 1..4 = [hit, miss, hit, miss], 3 relevant items in total
#   user 1: ranks 1..4 = [miss, miss, miss, miss], 2 relevant items
HITS = np.array([[1, 0, 1, 0], [0, 0, 0, 0]], dtype=bool)
NUM_REL = np.array([3, 2])


def test_recall_hand_computed() -> None:
    # user 0: 2 hits / 3 relevant; user 1: 0 / 2
    np.testing.assert_allclose(M.recall(HITS, NUM_REL), [2 / 3, 0.0])
    # @2: user 0 has 1 hit in the top 2 -> 1 / 3
    np.testing.assert_allclose(M.recall(HITS, NUM_REL, 2), [1 / 3, 0.0])


def test_precision_hand_computed() -> None:
    # @4: 2 / 4; @1: 1 / 1
    np.testing.assert_allclose(M.precision(HITS, NUM_REL), [0.5, 0.0])
    np.testing.assert_allclose(M.precision(HITS, NUM_REL, 1), [1.0, 0.0])


def test_precision_divides_by_k_even_for_short_lists() -> None:
    # only 2 columns exist (e.g. 2 items in the catalogue) but k = 4: 1 hit / 4
    np.testing.assert_allclose(M.precision(np.array([[True, False]]), np.array([1]), 4), [0.25])


def test_hit_rate_hand_computed() -> None:
    np.testing.assert_allclose(M.hit_rate(HITS, NUM_REL), [1.0, 0.0])


def test_mrr_hand_computed() -> None:
    # first hit of user 0 at rank 1 -> 1 / 1; a first hit at rank 3 -> 1 / 3
    np.testing.assert_allclose(M.mrr(HITS, NUM_REL), [1.0, 0.0])
    late = np.array([[0, 0, 1, 1]], dtype=bool)
    np.testing.assert_allclose(M.mrr(late, np.array([2])), [1 / 3])
    np.testing.assert_allclose(M.mrr(late, np.array([2]), 2), [0.0])


def test_ndcg_hand_computed() -> None:
    # user 0: DCG = 1/log2(2) + 1/log2(4) = 1 + 0.5 = 1.5
    #         IDCG over min(3, 4) = 3 items: 1 + 1/log2(3) + 1/log2(4) = 2.1309...
    idcg = 1 + 1 / math.log2(3) + 0.5
    np.testing.assert_allclose(M.ndcg(HITS, NUM_REL), [1.5 / idcg, 0.0])
    # @2: DCG = 1; IDCG over min(3, 2) = 2 items = 1 + 1/log2(3)
    np.testing.assert_allclose(M.ndcg(HITS, NUM_REL, 2), [1 / (1 + 1 / math.log2(3)), 0.0])


def test_map_hand_computed() -> None:
    # user 0: hits at ranks 1 and 3; precision@1 = 1/1, precision@3 = 2/3
    #         sum = 5/3, divided by min(3 relevant, K=4) = 3 -> 5/9
    np.testing.assert_allclose(M.mean_average_precision(HITS, NUM_REL), [5 / 9, 0.0])
    # @2: only the hit at rank 1 -> 1 / min(3, 2) = 1/2
    np.testing.assert_allclose(M.mean_average_precision(HITS, NUM_REL, 2), [0.5, 0.0])


def test_users_without_relevant_items_score_zero() -> None:
    hits = np.zeros((1, 3), dtype=bool)
    for fn in M.ACCURACY_FUNCTIONS.values():
        np.testing.assert_array_equal(fn(hits, np.array([0])), [0.0])


def test_item_coverage_hand_computed() -> None:
    # items {0, 1, 2} of 4 recommended -> 3/4; the -1 slot is empty
    assert M.item_coverage(np.array([[0, 1], [1, 2], [2, -1]]), 4) == pytest.approx(0.75)


def test_gini_hand_computed() -> None:
    # equal counts -> 0
    assert M.gini_index(np.array([[0, 1], [2, 3]]), 4) == pytest.approx(0.0)
    # counts over 4 items: item 0 twice, others never -> sorted c = [0, 0, 0, 2]
    # G = sum((2i - n - 1) c_i) / (n sum c) = (2*4 - 5) * 2 / (4 * 2) = 6/8 = 0.75
    assert M.gini_index(np.array([[0], [0]]), 4) == pytest.approx(0.75)
    # counts [1, 1, 2, 0] over 4 items: sorted [0, 1, 1, 2]
    # (2*1-5)*0 + (2*2-5)*1 + (2*3-5)*1 + (2*4-5)*2 = 0 - 1 + 1 + 6 = 6; / (4 * 4) = 0.375
    assert M.gini_index(np.array([[0, 2], [1, 2]]), 4) == pytest.approx(0.375)


def test_novelty_hand_computed() -> None:
    # 8 train users; pop = [8, 4, 2, 0]; self-information = [0, 1, 2, 3 (pop 0 -> 1)]
    pop = np.array([8.0, 4.0, 2.0, 0.0])
    recs = np.array([[0, 1], [2, 3], [1, -1]])
    # user 0: (0 + 1) / 2 = 0.5; user 1: (2 + 3) / 2 = 2.5; user 2: 1 (empty slot skipped)
    np.testing.assert_allclose(M.novelty(recs, pop, 8), [0.5, 2.5, 1.0])


def test_average_popularity_hand_computed() -> None:
    pop = np.array([10.0, 4.0, 2.0, 0.0])
    # user 0: (10 + 4) / 2 = 7; user 1: (2 + 0) / 2 = 1
    np.testing.assert_allclose(M.average_popularity(np.array([[0, 1], [2, 3]]), pop), [7.0, 1.0])


def test_tail_items_and_share_hand_computed() -> None:
    # pop = [50, 30, 10, 5, 5], total 100; head = most popular items reaching 80:
    # 50 (50%) -> 50 + 30 = 80 (80%) -> head = {0, 1}, tail = {2, 3, 4}
    pop = np.array([50.0, 30.0, 10.0, 5.0, 5.0])
    np.testing.assert_array_equal(M.tail_items(pop), [False, False, True, True, True])
    # user 0: [0, 2] -> 1/2 tail; user 1: [3, 4] -> 2/2
    np.testing.assert_allclose(
        M.tail_share(np.array([[0, 2], [3, 4]]), M.tail_items(pop)), [0.5, 1.0]
    )


def test_diversity_vectors_hand_computed() -> None:
    # items 0 and 1 orthogonal (distance 1), items 0 and 2 identical direction (distance 0)
    vecs = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]])
    # user 0: [0, 1, 2]: pairs (0,1)=1, (0,2)=0, (1,2)=1 -> 2/3
    # user 1: [0, 2]: one pair, distance 0
    recs = np.array([[0, 1, 2], [0, 2, -1]])
    np.testing.assert_allclose(M.intra_list_diversity(recs, item_vectors=vecs), [2 / 3, 0.0])


def test_diversity_genres_hand_computed() -> None:
    genres = [["a", "b"], ["b"], ["c"]]
    # Jaccard distance: (0,1) = 1 - 1/2 = 0.5; (0,2) = 1; (1,2) = 1 -> mean 2.5/3
    recs = np.array([[0, 1, 2]])
    np.testing.assert_allclose(M.intra_list_diversity(recs, item_genres=genres), [2.5 / 3])


def test_diversity_needs_vectors_or_genres() -> None:
    with pytest.raises(ConfigError, match="item_vectors"):
        M.intra_list_diversity(np.array([[0, 1]]))


# ---------------------------------------------------------------------- properties
@st.composite
def hit_matrices(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 6))
    k = draw(st.integers(1, 8))
    rows = draw(st.lists(st.lists(st.booleans(), min_size=k, max_size=k), min_size=n, max_size=n))
    hits = np.array(rows, dtype=bool)
    extra = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    # relevant items are at least the hits in the list
    num_rel = hits.sum(axis=1) + np.array(extra)
    return hits, num_rel


@settings(max_examples=100, deadline=None, derandomize=True)
@given(hit_matrices())
def test_accuracy_metrics_in_unit_interval(case: tuple[np.ndarray, np.ndarray]) -> None:
    hits, num_rel = case
    for name, fn in M.ACCURACY_FUNCTIONS.items():
        values = fn(hits, num_rel)
        assert np.all((values >= 0) & (values <= 1 + 1e-12)), name


@settings(max_examples=100, deadline=None, derandomize=True)
@given(hit_matrices())
def test_recall_non_decreasing_in_k(case: tuple[np.ndarray, np.ndarray]) -> None:
    hits, num_rel = case
    prev = np.zeros(len(hits))
    for k in range(1, hits.shape[1] + 1):
        cur = M.recall(hits, num_rel, k)
        assert np.all(cur >= prev - 1e-12)
        prev = cur


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.integers(1, 10), st.integers(1, 10))
def test_ndcg_is_one_for_a_perfect_ranking(num_rel: int, k: int) -> None:
    # perfect: the first min(num_rel, k) ranks are all relevant
    hits = np.zeros((1, k), dtype=bool)
    hits[0, : min(num_rel, k)] = True
    np.testing.assert_allclose(M.ndcg(hits, np.array([num_rel])), [1.0])


@settings(max_examples=100, deadline=None, derandomize=True)
@given(hit_matrices())
def test_mrr_at_most_hit_rate(case: tuple[np.ndarray, np.ndarray]) -> None:
    hits, num_rel = case
    assert np.all(M.mrr(hits, num_rel) <= M.hit_rate(hits, num_rel))


# ---------------------------------------------------------------------- parsing
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("ndcg@10", Metric("ndcg", 10)),
        (" Recall@20 ", Metric("recall", 20)),
        ("hit@1", Metric("hit", 1)),
        ("map@10", Metric("map", 10)),
        ("avg_pop@10", Metric("avg_pop", 10)),
        ("tail@5", Metric("tail", 5)),
    ],
)
def test_parse_metric(spec: str, expected: Metric) -> None:
    assert parse_metric(spec) == expected
    assert str(parse_metric(spec)) == f"{expected.name}@{expected.k}"


def test_parse_metric_unknown_name_suggests() -> None:
    with pytest.raises(ConfigError, match=r"unknown metric 'ndgc@10' \(did you mean 'ndcg'\?\)"):
        parse_metric("ndgc@10")
    with pytest.raises(ConfigError, match="valid names: .*'recall'"):
        parse_metric("auc@10")


def test_parse_metric_bad_cutoffs() -> None:
    with pytest.raises(ConfigError, match="needs a cut-off, e.g. 'ndcg@10'"):
        parse_metric("ndcg")
    with pytest.raises(ConfigError, match="k must be an integer ≥ 1; got 'x'"):
        parse_metric("ndcg@x")
    with pytest.raises(ConfigError, match="k must be an integer ≥ 1; got 0"):
        parse_metric("ndcg@0")
    with pytest.raises(ConfigError, match="k must be an integer ≥ 1; got '1\\+1'"):
        parse_metric("ndcg@1+1")  # parsed, never evaluated


def test_parse_metrics_reports_all_problems_and_dedupes() -> None:
    with pytest.raises(ConfigError, match="2 bad metric names") as info:
        parse_metrics(["ndcg@10", "recal@10", "foo@3"])
    assert "recal@10" in str(info.value) and "foo@3" in str(info.value)
    assert parse_metrics(["ndcg@10", "NDCG@10", "recall@5"]) == (
        Metric("ndcg", 10),
        Metric("recall", 5),
    )
    with pytest.raises(ConfigError, match="at least one metric"):
        parse_metrics([])


def test_metric_constructor_validates() -> None:
    with pytest.raises(ConfigError, match="unknown metric"):
        Metric("auc", 10)
    with pytest.raises(ConfigError, match="k must be an integer"):
        Metric("ndcg", 0)
