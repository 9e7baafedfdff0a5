"""Tests of SASRec: the contract, then SASRec and the shared sequential base."""

from __future__ import annotations

import re

import numpy as np
import torch

import pytest

from ssl4rec.config.base import from_dict, to_dict
from ssl4rec.errors import ConfigError, DataError
from ssl4rec.models.base import load_model
from ssl4rec.models.nn.item_encoder import principal_components
from ssl4rec.models.nn.sequential import ItemTextSource, seen_mask
from ssl4rec.models.registry import get_model_class
from ssl4rec.models.sasrec import SASRec, SASRecConfig
from ssl4rec.testing.contracts import RecommenderContract
from ssl4rec.testing.fakes import HashTextEncoder
from ssl4rec.testing.synthetic import TINY_SEQUENTIAL as TINY
from ssl4rec.testing.synthetic import cycle_data
from ssl4rec.text.cache import item_embeddings
from ssl4rec.training.trainer import TrainConfig


class TestSASRec(RecommenderContract):
    model_class = SASRec
    tiny_config = SASRecConfig(**TINY, epochs=12)
    planted = "sequence"
    planted_margin = 0.3  # test NDCG@10 on the cycle: Pop about 0.44, SASRec about 1.0
    folds_in_exactly = True

    def test_long_history_is_cut_to_its_window(self, model):
        long = np.tile(np.arange(12), 5)  # longer than max_seq_len
        scores = model.score_history([long])
        torch.testing.assert_close(scores[0], model.score_history([long[-8:]])[0])

    def test_attention_weights_cover_history_positions(self, model):
        hist = np.arange(10) % 12
        weights = model.attention_weights(hist)
        assert weights.shape == (10,)
        assert np.all(weights[:2] == 0)  # cut off by max_seq_len=8
        assert 0.99 <= weights.sum() <= 1.0 + 1e-5 and np.all(weights >= 0)

    def test_window_positions_and_attention_maps_of_a_long_history(self, model):
        hist = np.arange(10) % 12  # 10 events; the window is 8
        assert model.window_positions(10).tolist() == [-1, -1, 0, 1, 2, 3, 4, 5, 6, 7]
        maps = model.attention_maps(hist)  # (layers, heads, 10)
        assert maps.shape == (1, 2, 10) and np.all(maps[..., :2] == 0)
        np.testing.assert_allclose(maps.sum(axis=-1), 1.0, atol=1e-5)
        matrices = model.attention_matrices(hist)  # (layers, heads, L, L)
        np.testing.assert_allclose(maps[..., 2:], matrices[..., -1, :])

    def test_scores_from_input_vectors_are_the_query_item_scores(self, model):
        hist = np.array([3, 4, 5])
        tokens = model.history_tokens([hist])
        vectors = model.embed_tokens(tokens).detach().requires_grad_()
        scores = model.score_embedded(tokens, vectors)  # (1, num_items), differentiable
        torch.testing.assert_close(scores.detach(), model.score_history([hist]))
        (grad,) = torch.autograd.grad(scores[0, 5], vectors)
        assert torch.all(grad[0, :5] == 0) and grad[0, 5:].abs().sum() > 0  # padding: none

    def test_causal_positions_see_only_earlier_items(self, model):
        tokens = torch.tensor([[0, 2, 3, 4]])
        rows = torch.zeros(4, dtype=torch.long)
        visible = model.visible_positions(tokens[rows], torch.arange(4))  # (4, 4)
        assert visible.tolist() == [
            [False, False, False, False],
            [False, True, False, False],
            [False, True, True, False],
            [False, True, True, True],
        ]


@pytest.fixture(scope="module")
def data():
    return cycle_data()


def test_sampled_bce_option_trains(data):
    model = SASRec(**TINY, loss="bce", epochs=2).fit(
        data, train_config=TrainConfig(progress=False, num_threads=1)
    )
    assert torch.isfinite(model.score_history([np.array([0, 1])])).all()
    assert model.train_summary["epochs_run"] == 2


class CountingSource:
    """An ``ItemTextSource`` that encodes through the cache and records its calls."""

    def __init__(self, cache_dir):
        self.encoder = HashTextEncoder(16)
        self.cache_dir = cache_dir
        self.seen: list[int] = []  # num_items of each call's data

    def __call__(self, data):
        self.seen.append(data.num_items)
        return item_embeddings(data, self.encoder, cache_dir=self.cache_dir)


def test_text_model_reads_its_source_once_and_loads_without_text(data, tmp_path):
    source = CountingSource(tmp_path / "cache")
    assert isinstance(source, ItemTextSource)
    model = SASRec(**TINY, epochs=1, item_repr="id+text", item_text=source)
    model.fit(data, train_config=TrainConfig(progress=False, num_threads=1))
    assert source.seen == [12]  # called once, in build, with the training data
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")  # no item_text: the weights hold the vectors
    hist = [np.array([1, 2, 3])]
    torch.testing.assert_close(loaded.score_history(hist), model.score_history(hist))
    assert torch.equal(loaded.net.items.text, model.net.items.text)
    expected = item_embeddings(data, HashTextEncoder(16), cache_dir=tmp_path / "cache")
    assert torch.equal(model.net.items.text, torch.from_numpy(expected))


@pytest.mark.parametrize("item_repr", ["id+text", "text"])
def test_text_model_without_item_text_says_how_to_get_vectors(data, item_repr):
    model = SASRec(**TINY, epochs=1, item_repr=item_repr)
    with pytest.raises(
        ConfigError,
        match=re.escape(
            f"SASRec.item_text must be given when item_repr={item_repr!r}; got None "
            "(pass (12, t) vectors, e.g. from ssl4rec.text.item_embeddings(data, encoder)"
        ),
    ):
        model.fit(data, train_config=TrainConfig(progress=False, num_threads=1))


def test_an_encoder_is_not_item_text(data):
    model = SASRec(**TINY, item_repr="text", item_text=HashTextEncoder(8))
    with pytest.raises(ConfigError, match=r"SASRec.item_text must be an array \(12, t\) or an "):
        model.fit(data, train_config=TrainConfig(progress=False, num_threads=1))


def test_precomputed_text_vectors_of_wrong_shape_are_refused(data):
    model = SASRec(**TINY, item_repr="text", item_text=np.zeros((5, 4), dtype=np.float32))
    with pytest.raises(DataError, match=r"item_text must have shape \(12, d\)"):
        model.fit(data, train_config=TrainConfig(progress=False, num_threads=1))


def test_text_only_model_uses_given_vectors(data):
    vectors = HashTextEncoder(8).encode([f"movie number {i}" for i in range(12)])
    model = SASRec(**TINY, item_repr="text", item_text=vectors, epochs=1)
    model.fit(data, train_config=TrainConfig(progress=False, num_threads=1))
    assert model.net.items.ids is None
    assert torch.isfinite(model.score_history([np.array([], dtype=np.int64)])).all()


def test_config_validation_reports_every_problem():
    with pytest.raises(ConfigError) as err:
        SASRecConfig(embedding_dim=10, num_heads=3, dropout=1.0, max_seq_len=1, loss="hinge")
    text = str(err.value)
    for field in ("num_heads", "dropout", "max_seq_len", "loss"):
        assert field in text


def test_config_round_trip_and_registry():
    cfg = SASRecConfig(item_repr="id+text", text_template="movielens", max_seq_len=200)
    assert from_dict(SASRecConfig, to_dict(cfg)) == cfg
    assert get_model_class("sasrec") is SASRec
    with pytest.raises(ConfigError, match="item_repr"):
        from_dict(SASRecConfig, {"item_repr": "image"})


def test_renamed_field_names_its_new_name():
    with pytest.raises(
        ConfigError, match=r"^SASRecConfig: field 'hidden_dim' was renamed to 'embedding_dim'$"
    ):
        from_dict(SASRecConfig, {"hidden_dim": 16})
    assert from_dict(SASRecConfig, {"embedding_dim": 16}).embedding_dim == 16


def test_seen_mask_marks_visible_items_once():
    tokens = torch.tensor([[0, 2, 3, 2], [1, 4, 5, 5]])  # item index = token - 1
    visible = torch.tensor([[False, True, True, True], [True, True, False, False]])
    mask = seen_mask(tokens, visible, 5)
    expected = torch.tensor([[0, 1, 1, 0, 0], [1, 0, 0, 1, 0]], dtype=torch.float32)
    torch.testing.assert_close(mask, expected)
    columns = torch.tensor([0, 1, -1, 2, 3])  # item 2 has no column
    mask = seen_mask(tokens, visible, 5, columns)
    expected = torch.tensor([[0, 1, 0, 0], [1, 0, 1, 0]], dtype=torch.float32)
    torch.testing.assert_close(mask, expected)


def test_loss_over_candidate_items_matches_masking_the_full_logits(data):
    cfg = TrainConfig(progress=False, num_threads=1)
    fitted = SASRec(**TINY, epochs=1, seen_bias=True).fit(data, train_config=cfg)
    net = fitted.net
    with torch.no_grad():
        net.seen_bias.fill_(-0.5)  # a visible offset, so the mask matters
        net.items.trained[:3] = False  # pretend the first items had no training events
    torch.manual_seed(0)
    n = net.items.num_items
    tokens = torch.randint(1, n + 1, (3, 6))
    targets = torch.randint(4, n + 1, (3, 6))
    targets[0, :2] = 0
    hidden = torch.randn(3, 6, 8)
    table = torch.randn(n, 8)
    loss = fitted.next_item_loss(hidden, targets, table, tokens)
    keep = targets > 0
    rows, cols = keep.nonzero(as_tuple=True)
    visible = fitted.visible_positions(tokens[rows], cols)
    logits = hidden[keep] @ table.T + net.seen_offset() * seen_mask(tokens[rows], visible, n)
    reference = torch.nn.functional.cross_entropy(logits[:, 3:], targets[keep] - 1 - 3)
    torch.testing.assert_close(loss, reference)
    # the offset added at the seen cells gets the gradient the dense mask would give it
    (grad,) = torch.autograd.grad(loss, net.seen_bias)
    (expected,) = torch.autograd.grad(reference, net.seen_bias)
    torch.testing.assert_close(grad, expected)
    assert float(expected) != 0.0


def test_sampled_bce_adds_the_seen_offset_as_the_dense_mask_would(data):
    cfg = TrainConfig(progress=False, num_threads=1)
    model = SASRec(**TINY, epochs=1, loss="bce", seen_bias=True).fit(data, train_config=cfg)
    net = model.net
    with torch.no_grad():
        net.seen_bias.fill_(-0.5)  # a visible offset, so the mask matters
    batch = next(iter(model.batches(data, torch.Generator().manual_seed(0))))
    loss = model.training_step(batch)["loss"]
    table = net.items.table()  # (n, d)
    hidden, _ = net(batch["tokens"], table)  # (B, L, d)
    keep = batch["targets"] > 0
    rows, cols = keep.nonzero(as_tuple=True)
    tokens = batch["tokens"][rows]  # (N, L)
    seen = seen_mask(tokens, model.visible_positions(tokens, cols), 12)  # (N, n)
    pos_items, neg_items = batch["targets"][keep] - 1, batch["negatives"][keep] - 1
    pos = (hidden[keep] * table[pos_items]).sum(-1) + net.seen_offset() * seen.gather(
        1, pos_items[:, None]
    ).squeeze(1)
    neg = (hidden[keep] * table[neg_items]).sum(-1) + net.seen_offset() * seen.gather(
        1, neg_items[:, None]
    ).squeeze(1)
    labels = torch.cat([torch.ones_like(pos), torch.zeros_like(neg)])
    reference = 2 * torch.nn.functional.binary_cross_entropy_with_logits(
        torch.cat([pos, neg]), labels
    )
    torch.testing.assert_close(loss, reference)
    assert seen.gather(1, neg_items[:, None]).any()  # some negatives are history items
    (grad,) = torch.autograd.grad(loss, net.seen_bias)
    (expected,) = torch.autograd.grad(reference, net.seen_bias)
    torch.testing.assert_close(grad, expected)
    assert float(expected) != 0.0


def test_seen_bias_is_learned_and_added_to_history_items(data):
    # every user walks the cycle without repeating an item: the bias must turn negative
    model = SASRec(**TINY, epochs=6, seen_bias=True)
    model.fit(data, train_config=TrainConfig(progress=False, num_threads=1))
    bias = float(model.net.seen_offset().detach())
    assert bias < -0.1
    assert not model.factorized
    hist = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 2])  # longer than the window of 8
    plain = torch.from_numpy(model.query_vectors([hist]) @ model.item_vectors().T)[0]
    scores = model.score_history([hist, np.array([], dtype=np.int64)])
    expected = plain.clone()
    expected[np.unique(hist)] += bias  # every history item once, also those before the window
    torch.testing.assert_close(scores[0], expected)
    assert torch.isfinite(scores[1]).all()


def test_id_dropout_swaps_scored_id_vectors_only_while_training(data):
    vectors = HashTextEncoder(8).encode([f"movie number {i}" for i in range(12)])
    model = SASRec(
        **TINY,
        epochs=1,
        item_repr="id+text",
        item_text=vectors,
        id_dropout=0.5,
        adaptor_dropout=0.0,
    )
    model.fit(data, train_config=TrainConfig(progress=False, num_threads=1))
    items = model.net.items
    items.eval()
    full = items.table()
    torch.testing.assert_close(items.drop_ids(full), full)  # no dropout when scoring
    items.train()
    torch.testing.assert_close(items.table(), full)  # inputs keep their IDs in training
    torch.manual_seed(0)
    table = items.table()
    dropped = items.drop_ids(table)
    unknown_item = items.adaptor(items.text) + items.unknown  # text + the unknown-item vector
    replaced = torch.isclose(dropped, unknown_item).all(dim=1)  # rows whose ID was dropped
    assert 0 < int(replaced.sum()) < 12
    torch.testing.assert_close(dropped[~replaced], full[~replaced])
    assert not torch.isclose(full, unknown_item).all(dim=1).any()
    assert float(items.unknown.detach().abs().sum()) > 0  # trained by the dropped items
    # a swapped row sends the loss gradient to the unknown vector, not to its ID vector
    items.zero_grad()
    dropped.pow(2).sum().backward()
    grad_rows = items.ids.weight.grad.abs().sum(dim=1) > 0
    assert torch.equal(grad_rows, ~replaced)
    with pytest.raises(ConfigError, match="id_dropout"):
        SASRecConfig(item_repr="id+text", id_dropout=1.0)


# ---------------------------------------------------------------------------- ID vectors from text
def test_principal_components_keep_the_text_geometry_at_the_init_scale():
    gen = torch.Generator().manual_seed(0)
    vectors = torch.randn(50, 6, generator=gen) * torch.tensor([5.0, 3.0, 1.0, 0.5, 0.2, 0.1])
    out = principal_components(vectors, 4, std=0.02)
    assert out.shape == (50, 4) and float(out.std()) == pytest.approx(0.02, rel=1e-4)
    spread = out.std(0)
    assert torch.all(spread[:-1] > spread[1:])  # the axes in order of variance
    cov = torch.cov(out.T.double())
    assert torch.allclose(cov - torch.diag(torch.diag(cov)), torch.zeros(4, 4, dtype=torch.float64), atol=1e-8)
    # past the t text axes: noise of that std
    wide = principal_components(vectors, 10, std=0.02)
    assert wide.shape == (50, 10) and float(wide[:, 6:].std()) == pytest.approx(0.02, rel=0.3)


@pytest.mark.parametrize("item_repr", ["id", "id+text"])
def test_id_vectors_start_from_text_and_a_saved_model_needs_no_text(data, tmp_path, item_repr):
    vectors = np.random.default_rng(0).normal(size=(12, 6)).astype(np.float32)
    model = SASRec(**TINY, epochs=1, item_repr=item_repr, id_init="text", item_text=vectors)
    model.build(data)
    expected = principal_components(torch.from_numpy(vectors), TINY["embedding_dim"], std=0.02)
    # the 6 text axes; the other columns are seeded noise
    torch.testing.assert_close(model.net.items.ids.weight.detach()[:, :6], expected[:, :6])
    assert (item_repr == "id") == (not hasattr(model.net.items, "text"))  # ID model keeps no text
    model.fit(data, train_config=TrainConfig(progress=False, num_threads=1))
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    hist = [np.array([1, 2, 3])]
    torch.testing.assert_close(loaded.score_history(hist), model.score_history(hist))
    with pytest.raises(ConfigError, match=re.escape("SASRec (id_init 'text').item_text must be given")):
        SASRec(**TINY, epochs=1, id_init="text").fit(data, train_config=TrainConfig(progress=False))
    with pytest.raises(ConfigError, match="id_init"):
        SASRec(**TINY, item_repr="text", id_init="text")
