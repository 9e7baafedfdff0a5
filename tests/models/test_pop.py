"""Pop under the recommender contract."""

from __future__ import annotations

from ssl4rec.models.pop import Pop
from ssl4rec.testing.contracts import RecommenderContract


class TestPop(RecommenderContract):
    model_class = Pop
    # Pop is the baseline of the planted-signal test: equal to itself, no margin
    planted_margin = 0.0
    folds_in_exactly = True
