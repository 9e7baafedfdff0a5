"""LightGCN, SGL, SimGCL, XSimGCL under the recommender contract, plus the social variant."""

from __future__ import annotations

import numpy as np
import torch

import pytest

from ssl4rec.errors import ConfigError, DataError
from ssl4rec.evaluation.evaluator import evaluate
from ssl4rec.models.capabilities import ItemVectors, PooledItemVectors, QueryVectors
from ssl4rec.models.lightgcn import LightGCN, LightGCNConfig
from ssl4rec.models.nn.graph import normalized_adjacency, spmm
from ssl4rec.models.pop import Pop
from ssl4rec.models.sgl import SGL, SGLConfig
from ssl4rec.models.simgcl import SimGCL, SimGCLConfig
from ssl4rec.models.xsimgcl import XSimGCL, XSimGCLConfig
from ssl4rec.testing.contracts import RecommenderContract
from ssl4rec.testing.synthetic import block_split

_TINY = {
    "embedding_dim": 16,
    "num_layers": 2,
    "epochs": 30,
    "batch_size": 64,
    "learning_rate": 0.02,
}


class TestLightGCN(RecommenderContract):
    model_class = LightGCN
    tiny_config = LightGCNConfig(**_TINY)


class TestSGL(RecommenderContract):
    model_class = SGL
    tiny_config = SGLConfig(**_TINY)


class TestSGLNodeDropout(RecommenderContract):
    model_class = SGL
    tiny_config = SGLConfig(**_TINY, augmentation="node")


class TestSimGCL(RecommenderContract):
    model_class = SimGCL
    tiny_config = SimGCLConfig(**{**_TINY, "epochs": 60}, ssl_weight=0.1)


class TestXSimGCL(RecommenderContract):
    model_class = XSimGCL
    tiny_config = XSimGCLConfig(**_TINY)


@pytest.mark.parametrize(
    ("cls", "field", "value"),
    [
        (LightGCNConfig, "num_layers", 0),
        (LightGCNConfig, "reg_weight", -1.0),
        (LightGCNConfig, "social_temperature", 0.0),
        (SGLConfig, "drop_ratio", 1.0),
        (SGLConfig, "augmentation", "walk"),
        (SimGCLConfig, "noise_eps", -0.1),
        (XSimGCLConfig, "contrast_layer", 4),
    ],
)
def test_invalid_config_names_the_field(cls: type, field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        cls(**{field: value})


def _social_pairs(num_users: int) -> np.ndarray:
    """Users of the same block of ``block_split`` befriend their neighbour."""
    users = np.arange(num_users - 1)
    return np.stack([users, users + 1], axis=1)


@pytest.mark.parametrize("cls", [LightGCN, SGL, SimGCL, XSimGCL])
def test_social_edges_join_training_and_survive_save_load(cls: type, tmp_path) -> None:
    split = block_split()
    pairs = _social_pairs(split.train.num_users)
    config = cls.config_class(**{**_TINY, "epochs": 3})
    model = cls(config, social=pairs).fit(split.train)
    plain = cls(config).fit(split.train)
    users = np.arange(split.train.num_users)
    social_scores = model.score(users)
    assert not torch.allclose(
        social_scores, plain.score(users)
    )  # the social edges changed training
    loaded = cls.load(model.save(tmp_path / "m"))
    assert np.array_equal(loaded.social, model.social)
    torch.testing.assert_close(loaded.score(users), social_scores)


def test_social_term_is_reported_in_losses() -> None:
    split = block_split()
    model = LightGCN(LightGCNConfig(**_TINY), social=_social_pairs(split.train.num_users))
    model.fit(split.train)
    batch = next(iter(model.batches(split.train, torch.Generator().manual_seed(0))))
    terms = model.training_step(batch)
    assert set(terms) == {"loss", "bpr", "social_cl"}
    assert float(terms["social_cl"]) > 0


def test_social_edges_beyond_the_users_are_refused() -> None:
    split = block_split()
    bad = np.array([[0, split.train.num_users]])
    with pytest.raises(DataError, match="social edges name user index"):
        LightGCN(LightGCNConfig(**_TINY), social=bad).fit(split.train)
    with pytest.raises(DataError, match=r"\(s, 2\)"):
        LightGCN(LightGCNConfig(**_TINY), social=np.zeros((3, 3), dtype=int))


def test_capabilities_and_exact_factorization() -> None:
    split = block_split()
    model = XSimGCL(XSimGCLConfig(**{**_TINY, "epochs": 2})).fit(split.train)
    assert isinstance(model, QueryVectors) and isinstance(model, ItemVectors)
    assert isinstance(model, PooledItemVectors) and model.factorized
    histories = [np.array([0, 3, 3]), np.array([], dtype=np.int32)]
    expected = model.query_vectors(histories) @ model.item_vectors().T
    np.testing.assert_allclose(
        model.score_history(histories).numpy(), expected, rtol=1e-5, atol=1e-6
    )


def test_sgl_views_drop_about_the_ratio_of_edges() -> None:
    split = block_split()
    model = SGL(SGLConfig(**{**_TINY, "epochs": 1}, drop_ratio=0.5)).fit(split.train)
    full = model.graph()._nnz()
    model.on_epoch_batches(torch.Generator().manual_seed(1))
    assert model._views is not None
    dropped = model._views[0]._nnz()
    assert 0.3 * full < dropped < 0.7 * full
    assert not torch.equal(model._views[0].col_indices(), model._views[1].col_indices())


def test_adjacency_is_symmetric_normalized_and_sparse() -> None:
    users = np.array([0, 0, 1])
    items = np.array([0, 1, 1])
    adj = normalized_adjacency(2, 2, users, items, np.array([[0, 1], [1, 0], [1, 1]])).to_dense()
    # nodes: u0, u1, i0, i1; degrees 3 (i0, i1, u1), 2 (i1, u0), 1, 2
    expected = torch.zeros(4, 4)
    for a, b in [(0, 2), (0, 3), (1, 3), (0, 1)]:
        degree = [3, 2, 1, 2]
        expected[a, b] = expected[b, a] = (degree[a] * degree[b]) ** -0.5
    torch.testing.assert_close(adj, expected)


def test_spmm_gradient_matches_dense() -> None:
    adj = normalized_adjacency(3, 4, np.array([0, 1, 2, 2]), np.array([0, 1, 2, 3]))
    x = torch.randn(7, 5, requires_grad=True)
    (spmm(adj, x) ** 2).sum().backward()
    y = x.detach().clone().requires_grad_()
    ((adj.to_dense() @ y) ** 2).sum().backward()
    torch.testing.assert_close(x.grad, y.grad)


class _Losses:
    """Per-epoch training losses, as the trainer reports them."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []

    def on_epoch_end(self, model: object, record: dict) -> None:
        self.epochs.append({k: float(v) for k, v in record["losses"].items()})


def _test_ndcg(scorer: object, split) -> float:
    return float(evaluate(scorer, split, part="test", metrics=("ndcg@10",)).metrics["ndcg@10"])


@pytest.mark.parametrize("cls", [SGL, SimGCL, XSimGCL])
def test_contrastive_models_learn_to_rank_with_the_papers_loss_weights(cls: type) -> None:
    """Regression: with the papers' λ, τ (and ε), BPR must leave ln 2 and beat Pop.

    From Xavier-initialised embeddings and InfoNCE on from the first step, the
    contrastive gradient swamped BPR's: BPR stayed at ln 2 ≈ 0.693 for hundreds of
    steps and the ranking stayed near random (docs/graph.md, "Why a warm-up").
    """
    split = block_split(num_users=600, num_items=300, density=0.3)
    config = cls.config_class(
        embedding_dim=32, num_layers=2, batch_size=512, learning_rate=0.005, epochs=15
    )
    losses = _Losses()
    model = cls(config).fit(split.train, callbacks=[losses])
    last = losses.epochs[-1]
    assert last["ssl"] > 0  # the contrastive term is on at the end
    assert last["bpr"] < 0.45, [round(e["bpr"], 3) for e in losses.epochs]
    assert _test_ndcg(model, split) > _test_ndcg(Pop().fit(split.train), split) + 0.05
