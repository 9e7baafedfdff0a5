"""Top-k retrieval: exact selection and the faiss index agree on small catalogs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.models.ease import EASE
from ssl4rec.serving.app import create_app
from ssl4rec.serving.retrieval import ExactIndex, build_index, top_k_rows
from ssl4rec.serving.settings import ServeSettings


def test_top_k_rows_orders_and_excludes() -> None:
    scores = np.array([[0.1, 0.9, 0.5, np.nan, 0.7]], dtype=np.float32)
    idx, vals = top_k_rows(scores, 3, [np.array([1])])
    assert idx.tolist() == [[4, 2, 0]] and np.allclose(vals, [[0.7, 0.5, 0.1]])
    idx, _ = top_k_rows(np.zeros((2, 3), dtype=np.float32), 10)
    assert idx.shape == (2, 3)


def test_faiss_index_matches_exact() -> None:
    pytest.importorskip("faiss")
    rng = np.random.default_rng(0)
    items = rng.normal(size=(500, 16)).astype(np.float32)
    queries = rng.normal(size=(5, 16)).astype(np.float32)
    exclude = [rng.choice(500, 20, replace=False) for _ in range(5)]
    exact = build_index(items, backend="auto", faiss_min_items=1000)
    approx = build_index(items, backend="auto", faiss_min_items=100)
    assert isinstance(exact, ExactIndex) and approx.kind.startswith("faiss")
    e_idx, _ = exact.search(queries, 10, exclude)
    a_idx, a_val = approx.search(queries, 10, exclude)
    for row in range(5):
        assert not set(a_idx[row]) & set(exclude[row])
        assert len(set(a_idx[row]) & set(e_idx[row])) >= 9  # HNSW recall on 500 items
    assert np.all(np.diff(a_val, axis=1) <= 1e-6)


def test_unknown_backend() -> None:
    with pytest.raises(ConfigError, match="retrieval"):
        build_index(np.zeros((3, 2)), backend="annoy")
    with pytest.raises(ConfigError, match="ServeSettings.retrieval"):
        ServeSettings(retrieval="annoy")  # type: ignore[arg-type]


class _FactorizedEASE(EASE):
    """EASE with a query/item factorization (item vectors = rows of B), to test the
    vector-index path of the service: score = onehot(history) @ B."""

    factorized = True

    def item_vectors(self) -> torch.Tensor:
        assert self.weights is not None
        return self.weights.T  # (num_items, num_items): column j of B for item j

    def query_vectors(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(histories), self.num_items), dtype=np.float32)
        for row, h in enumerate(histories):
            out[row, np.unique(h)] = 1.0
        return out


@pytest.mark.parametrize("backend", ["exact", "faiss"])
def test_service_uses_item_vectors_when_the_model_has_them(tiny_data, ease_model, backend) -> None:
    if backend == "faiss":
        pytest.importorskip("faiss")
    from fastapi.testclient import TestClient

    model = _FactorizedEASE(l2_reg=1.0).fit(tiny_data)
    settings = ServeSettings(db=":memory:", retrieval=backend)  # type: ignore[arg-type]
    with TestClient(create_app(settings, model=model)) as c:
        assert c.get("/model-info").json()["retrieval"].startswith(backend)
        body = c.get("/users/u0/recommendations", params={"k": 5}).json()
        assert [r["item"] for r in body["items"]] == list(ease_model.recommend("u0", 5).items[0])
        sim = c.get("/items/i3/similar", params={"k": 3}).json()
        assert sim["method"] == "item-vectors" and "i3" not in [r["item"] for r in sim["items"]]


@pytest.mark.parametrize("backend", ["exact", "faiss"])
def test_sasrec_is_served_from_its_item_vectors(tiny_data, backend) -> None:
    if backend == "faiss":
        pytest.importorskip("faiss")
    from fastapi.testclient import TestClient

    from ssl4rec.models.sasrec import SASRec
    from ssl4rec.training.trainer import TrainConfig

    model = SASRec(
        embedding_dim=16, num_layers=1, num_heads=2, ff_dim=32, dropout=0.0, max_seq_len=8, epochs=2
    ).fit(tiny_data, train_config=TrainConfig(progress=False, num_threads=1))
    settings = ServeSettings(db=":memory:", retrieval=backend)  # type: ignore[arg-type]
    with TestClient(create_app(settings, model=model)) as c:
        assert c.get("/model-info").json()["retrieval"].startswith(backend)
        body = c.get("/users/u0/recommendations", params={"k": 5}).json()
        assert [r["item"] for r in body["items"]] == list(model.recommend("u0", 5).items[0])
        sim = c.get("/items/i3/similar", params={"k": 3}).json()
        assert sim["method"] == "item-vectors" and "i3" not in [r["item"] for r in sim["items"]]
