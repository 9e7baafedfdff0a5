"""History: per-user sequences in time order, and the binary matrix built from them."""

from __future__ import annotations

import numpy as np

from ssl4rec.models.history import History, histories_to_csr


def test_csr_leaves_the_sequences_in_time_order() -> None:
    history = History(
        indptr=np.array([0, 3, 5], dtype=np.int64),
        items=np.array([5, 1, 5, 2, 0], dtype=np.int32),
        num_items=6,
    )
    mat = history.csr()
    assert mat.shape == (2, 6)
    assert mat.toarray().tolist() == [[0, 1, 0, 0, 0, 1], [1, 0, 1, 0, 0, 0]]
    # building the matrix must not sort or merge the stored sequences in place
    assert history.sequence(0).tolist() == [5, 1, 5]
    assert history.sequence(1).tolist() == [2, 0]
    assert history.csr(np.array([1])).toarray().tolist() == [[1, 0, 1, 0, 0, 0]]


def test_histories_to_csr_is_binary() -> None:
    mat = histories_to_csr([np.array([3, 3, 1]), np.array([], dtype=np.int64)], 4)
    assert mat.toarray().tolist() == [[0, 1, 0, 1], [0, 0, 0, 0]]
