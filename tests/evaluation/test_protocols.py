"""Truth lookup and the two ranking protocols on tiny tensors."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ssl4rec.evaluation.protocols import TruthLookup, full_ranking, sampled_ranking
from ssl4rec.evaluation.ranking import prepare_scores

# user 0 -> items {1, 3}; user 1 -> nothing; user 2 -> item {0}
TRUTH = sp.csr_matrix(
    (np.ones(3), (np.array([0, 0, 2]), np.array([3, 1, 0]))), shape=(3, 4), dtype=np.float32
)


def test_truth_lookup() -> None:
    lookup = TruthLookup(TRUTH)
    np.testing.assert_array_equal(lookup.num_relevant(np.array([0, 1, 2])), [2, 0, 1])
    items = np.array([[1, 2, -1], [0, 1, 3], [0, 0, -1]])
    expected = [[True, False, False], [False, False, False], [True, True, False]]
    np.testing.assert_array_equal(lookup.contains(np.array([0, 1, 2]), items), expected)
    padded, counts = lookup.items_of(np.array([2, 0, 1]))
    np.testing.assert_array_equal(padded, [[0, -1], [1, 3], [-1, -1]])
    np.testing.assert_array_equal(counts, [1, 2, 0])


def test_truth_lookup_unsorted_input() -> None:
    # a CSR with unsorted, duplicated column indices is canonicalised on a copy
    mat = sp.csr_matrix((np.ones(3), np.array([3, 1, 3]), np.array([0, 3])), shape=(1, 4))
    lookup = TruthLookup(mat)
    np.testing.assert_array_equal(lookup.num_relevant(np.array([0])), [2])
    np.testing.assert_array_equal(
        lookup.contains(np.array([0]), np.array([[3, 1, 0]])), [[1, 1, 0]]
    )


def test_full_ranking_marks_empty_slots() -> None:
    scores = prepare_scores(torch.tensor([[0.1, 0.9, float("nan"), -float("inf")]]))
    hits, recs = full_ranking(scores, np.array([0]), TruthLookup(TRUTH), 4)
    # order: item 1 (0.9), item 0 (0.1), then two empty slots
    np.testing.assert_array_equal(recs, [[1, 0, -1, -1]])
    np.testing.assert_array_equal(hits, [[True, False, False, False]])


def test_sampled_ranking_candidates() -> None:
    # user 0: relevant {1, 3}; item 0 excluded (seen) -> the only negative is item 2
    scores = prepare_scores(torch.tensor([[5.0, 1.0, 2.0, 3.0]]))
    excluded = sp.csr_matrix(np.array([[1.0, 0.0, 0.0, 0.0]]))
    hits, recs = sampled_ranking(
        scores,
        np.array([0]),
        TruthLookup(TRUTH),
        3,
        num_negatives=5,
        excluded=excluded,
        rng=np.random.default_rng(0),
    )
    # candidates {1, 3, 2}, ranked by score: 3 (3.0), 2 (2.0), 1 (1.0)
    np.testing.assert_array_equal(recs, [[3, 2, 1]])
    np.testing.assert_array_equal(hits, [[True, False, True]])
