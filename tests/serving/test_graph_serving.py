"""A graph model behind the REST API: vector retrieval, similar items, explanations."""

from __future__ import annotations

import numpy as np

import pytest

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.lightgcn import LightGCN, LightGCNConfig
from ssl4rec.serving.app import create_app
from ssl4rec.serving.settings import ServeSettings


@pytest.fixture(scope="module")
def graph_model(tiny_data: Interactions) -> LightGCN:
    config = LightGCNConfig(embedding_dim=8, num_layers=2, epochs=3, batch_size=64, learning_rate=0.05)
    return LightGCN(config).fit(tiny_data)


def test_graph_model_is_served_with_explanations(graph_model: LightGCN, tmp_path) -> None:
    from fastapi.testclient import TestClient

    with TestClient(create_app(ServeSettings(db=str(tmp_path / "e.sqlite")), model=graph_model)) as c:
        assert c.get("/health").json()["model"] == "lightgcn"
        body = c.get("/users/u0/recommendations", params={"k": 5, "explain": True}).json()
        items = [row["item"] for row in body["items"]]
        assert len(items) == 5
        history = graph_model.history.sequence(graph_model.user_vocab.index("u0"))
        expected = graph_model.score_history([history])[0].numpy()
        expected[np.unique(history)] = -np.inf
        top = graph_model.item_vocab.raw(np.argsort(-expected)[:5])
        assert items == list(top)  # the vector index returns the model's own ranking
        seen = set(graph_model.item_vocab.raw(history))
        because = body["items"][0]["because"]  # shares of the fold-in score (PooledItemVectors)
        assert because and all(row["item"] in seen for row in because)
        similar = c.get("/items/i3/similar", params={"k": 3}).json()
        assert len(similar["items"]) == 3 and "i3" not in [r["item"] for r in similar["items"]]
