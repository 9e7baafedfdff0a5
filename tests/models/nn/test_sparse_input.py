"""Sparse user rows as autoencoder input: the same outputs, gradients and dropout law."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

import pytest

from ssl4rec.models.cdae import CDAE, CDAEConfig
from ssl4rec.models.mult_dae import MultDAE, MultDAEConfig
from ssl4rec.models.mult_vae import MultVAE, MultVAEConfig
from ssl4rec.models.nn.rows import dense_rows
from ssl4rec.models.nn.sparse_input import corrupt_rows, csr_tensor, row_sums, sparse_rows
from ssl4rec.models.recvae import RecVAE, RecVAEConfig
from ssl4rec.testing.contracts import RecommenderContract
from ssl4rec.testing.synthetic import block_interactions
from ssl4rec.training.trainer import TrainConfig

CASES = [
    (MultDAE, MultDAEConfig(hidden_dims=(12,), embedding_dim=6, dropout=0.0)),
    (MultVAE, MultVAEConfig(hidden_dims=(12,), embedding_dim=6, dropout=0.0)),
    (RecVAE, RecVAEConfig(hidden_dims=(12,), embedding_dim=6, dropout=0.0)),
    (CDAE, CDAEConfig(embedding_dim=6, dropout=0.0)),
]


def first_layer_names(model):
    """State-dict keys of the weights that read the item rows."""
    return [k for k, v in model_state(model).items() if k.endswith("weight") and 48 in v.shape]


def model_state(model):
    return {f"{n}.{k}": v for n, m in model.modules().items() for k, v in m.state_dict().items()}


def pair(model_class, config):
    data = block_interactions()
    dense = model_class(config)
    sparse = model_class(dataclasses.replace(config, sparse_input=True))
    dense.build(data)
    sparse.build(data)
    for model in (dense, sparse):
        for module in model.modules().values():
            module.double()
    return data, dense, sparse


@pytest.mark.parametrize(("model_class", "config"), CASES)
def test_seeded_sparse_model_has_the_dense_weights_transposed(model_class, config):
    _, dense, sparse = pair(model_class, config)
    d, s = model_state(dense), model_state(sparse)
    assert d.keys() == s.keys()
    firsts = first_layer_names(dense)
    assert firsts  # the layers that read rows
    for key in d:
        expected = d[key].T if key in firsts and d[key].shape[1] == 48 else d[key]
        torch.testing.assert_close(s[key], expected, rtol=0, atol=0)


@pytest.mark.parametrize(("model_class", "config"), CASES)
def test_same_weights_give_the_same_scores_loss_and_gradients(model_class, config):
    data, dense, sparse = pair(model_class, config)
    users = np.arange(0, 80, 3)
    matrix = data.csr()
    x_dense = dense_rows(matrix, users).double()
    x_sparse = sparse_rows(matrix, users)
    x_sparse = csr_tensor(
        x_sparse.crow_indices(), x_sparse.col_indices(), x_sparse.values().double(), (27, 48)
    )
    u = torch.from_numpy(users)
    for model in (dense, sparse):
        for module in model.modules().values():
            module.eval()
    with torch.no_grad():
        torch.testing.assert_close(
            sparse.reconstruct(x_sparse, u), dense.reconstruct(x_dense, u), rtol=1e-12, atol=1e-12
        )
    phase = "encoder" if model_class is RecVAE else None
    grads = {}
    for name, model, x in (("dense", dense, x_dense), ("sparse", sparse, x_sparse)):
        for module in model.modules().values():
            module.train()  # VAEs sample z: the same seed draws the same noise
        torch.manual_seed(3)
        loss = model.training_step((u, x), phase)["loss"]
        params = {
            f"{n}.{k}": p
            for n, m in model.modules().items()
            for k, p in m.named_parameters()
            if p.requires_grad
        }
        values = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
        grads[name] = (float(loss.detach()), dict(zip(params, values, strict=True)))
    assert grads["sparse"][0] == pytest.approx(grads["dense"][0], rel=1e-12)
    firsts = first_layer_names(dense)
    for key, g_dense in grads["dense"][1].items():
        g_sparse = grads["sparse"][1][key]
        if g_dense is None:
            assert g_sparse is None
            continue
        if key in firsts and g_dense.shape[1] == 48:
            g_dense = g_dense.T
        torch.testing.assert_close(g_sparse, g_dense, rtol=1e-10, atol=1e-12)


def test_sparse_dropout_keeps_the_dense_law_on_stored_entries():
    data = block_interactions(density=0.6)
    x = sparse_rows(data.csr(), np.arange(80))
    dense = x.to_dense()
    normalized = corrupt_rows(x, 0.0, normalize=True).to_dense()
    torch.testing.assert_close(normalized, torch.nn.functional.normalize(dense, dim=1))
    torch.manual_seed(0)
    dropped = corrupt_rows(x, torch.nn.Dropout(0.3), normalize=False)
    values = dropped.values()
    assert torch.equal(dropped.col_indices(), x.col_indices())  # zeros stay zero
    kept = values != 0
    assert abs(float(kept.double().mean()) - 0.7) < 0.03  # each entry kept with 1 - p
    torch.testing.assert_close(values[kept], torch.full_like(values[kept], 1 / 0.7))
    torch.testing.assert_close(row_sums(x), dense.sum(dim=1))
    assert torch.equal(
        corrupt_rows(x, torch.nn.Dropout(0.3).eval(), normalize=False).values(), x.values()
    )


def test_a_fit_reads_sparse_rows_to_the_dense_fit_and_folds_in_empty_histories():
    data = block_interactions()
    settings = TrainConfig(progress=False, num_threads=1)
    config = dataclasses.replace(CASES[0][1], epochs=2, batch_size=16)
    dense = MultDAE(config).fit(data, train_config=settings)
    sparse = MultDAE(dataclasses.replace(config, sparse_input=True)).fit(
        data, train_config=settings
    )
    histories = [np.array([], dtype=np.int64), np.array([1, 2])]
    scores = sparse.score_history(histories)
    assert torch.isfinite(scores).all()
    torch.testing.assert_close(scores, dense.score_history(histories), rtol=1e-4, atol=1e-4)


# the contract (planted signal, fold-in, save/load...) with the tiny settings of each
# model's own test file, reading sparse rows
class TestSparseMultDAE(RecommenderContract):
    model_class = MultDAE
    tiny_config = MultDAEConfig(
        hidden_dims=(32,),
        embedding_dim=16,
        epochs=30,
        batch_size=32,
        learning_rate=1e-2,
        sparse_input=True,
    )
    folds_in_exactly = True


class TestSparseMultVAE(RecommenderContract):
    model_class = MultVAE
    tiny_config = MultVAEConfig(
        hidden_dims=(32,),
        embedding_dim=16,
        epochs=40,
        batch_size=32,
        learning_rate=1e-2,
        total_anneal_steps=50,
        sparse_input=True,
    )
    folds_in_exactly = True


class TestSparseRecVAE(RecommenderContract):
    model_class = RecVAE
    tiny_config = RecVAEConfig(
        hidden_dims=(32,),
        embedding_dim=16,
        epochs=8,
        batch_size=32,
        learning_rate=1e-2,
        sparse_input=True,
    )
    folds_in_exactly = True


class TestSparseCDAE(RecommenderContract):
    model_class = CDAE
    tiny_config = CDAEConfig(
        embedding_dim=16, epochs=40, batch_size=16, learning_rate=1e-2, sparse_input=True
    )
