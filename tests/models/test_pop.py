"""Pop under the recommender contract."""

from __future__ import annotations

import numpy as np

from ssl4rec.models.pop import Pop
from ssl4rec.testing.contracts import RecommenderContract
from ssl4rec.testing.synthetic import block_split


class TestPop(RecommenderContract):
    model_class = Pop
    # Pop is the baseline of the planted-signal test; test_ranks_unseen_items_by_count
    # checks what it learns instead
    planted_margin = None
    folds_in_exactly = True


def test_ranks_unseen_items_by_count() -> None:
    train = block_split().train
    counts = train.item_counts
    model = Pop().fit(train)
    recs = model.recommend(list(train.user_vocab.raw(np.arange(5))), k=5)
    seen = train.csr()
    for row in range(5):
        unseen = np.setdiff1d(np.arange(train.num_items), seen[row].indices)
        # stable sort: ties keep the lower item index first, like Pop's top-k
        expected = unseen[np.argsort(-counts[unseen], kind="stable")][:5]
        assert counts[recs.item_indices[row]].tolist() == counts[expected].tolist()
        assert set(recs.item_indices[row]) <= set(unseen.tolist())
