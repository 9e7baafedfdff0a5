"""ItemKNN under the recommender contract."""

from __future__ import annotations

from ssl4rec.models.item_knn import ItemKNN, ItemKNNConfig
from ssl4rec.testing.contracts import RecommenderContract


class TestItemKNN(RecommenderContract):
    model_class = ItemKNN
    tiny_config = ItemKNNConfig(num_neighbors=20)
    folds_in_exactly = True
