"""The built-in explanation methods on tiny fitted models: each checked against what it claims.

Exact methods sum to the model's score; occlusion is the score lost without an item;
attention rollout is a distribution over the positions the model reads; integrated
gradients are complete (they sum to the score change from the baseline).
"""

from __future__ import annotations

import copy
import re

import numpy as np
import torch

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.explain import methods
from ssl4rec.explain.base import METHODS, explain, item_titles, supported_methods
from ssl4rec.explain.methods import attention_rollout
from ssl4rec.explain.tokens import token_weights
from ssl4rec.models.base import histories_to_csr
from ssl4rec.models.bert4rec import BERT4Rec
from ssl4rec.models.bpr import BPR
from ssl4rec.models.capabilities import ItemContributions, PooledItemVectors
from ssl4rec.models.cdae import CDAE
from ssl4rec.models.cfgan import CFGAN
from ssl4rec.models.ease import EASE
from ssl4rec.models.item_knn import ItemKNN
from ssl4rec.models.mult_vae import MultVAE
from ssl4rec.models.nn.sequential import SequentialRecommender
from ssl4rec.models.pop import Pop
from ssl4rec.models.registry import get_model_class, list_models
from ssl4rec.models.sasrec import SASRec
from ssl4rec.testing.fakes import HashTextEncoder
from ssl4rec.testing.synthetic import TINY_SEQUENTIAL, block_interactions, cycle_data
from ssl4rec.training.trainer import TrainConfig

TRAIN = TrainConfig(progress=False, num_threads=1)
LONG = np.array([3, 4, 5, 6, 7, 8, 9, 10, 11, 0, 3])  # 11 events, item 3 twice; window 8


def _scores(model, history):
    with torch.no_grad():
        return model.score_history([np.asarray(history)])[0].double().numpy()


# ---------------------------------------------------------------------- fitted models
@pytest.fixture(scope="module")
def blocks():
    return block_interactions(num_users=40, num_items=24)


@pytest.fixture(scope="module")
def cycle():
    return cycle_data()


@pytest.fixture(scope="module")
def ease(blocks):
    return EASE(l2_reg=10.0).fit(blocks)


@pytest.fixture(scope="module")
def knn(blocks):
    return ItemKNN(num_neighbors=5).fit(blocks)


@pytest.fixture(scope="module")
def bpr(blocks):
    return BPR(embedding_dim=8, epochs=3).fit(blocks, train_config=TRAIN)


@pytest.fixture(scope="module")
def vae(blocks):
    return MultVAE(hidden_dims=(16,), embedding_dim=8, epochs=3).fit(blocks, train_config=TRAIN)


@pytest.fixture(scope="module")
def cdae(blocks):
    return CDAE(embedding_dim=8, epochs=3).fit(blocks, train_config=TRAIN)


@pytest.fixture(scope="module")
def cfgan(blocks):
    return CFGAN(hidden_dims=(16,), discriminator_hidden_dims=(8,), epochs=3).fit(
        blocks, train_config=TRAIN
    )


@pytest.fixture(scope="module")
def sasrec(cycle):
    return SASRec(**TINY_SEQUENTIAL, epochs=3, seen_bias=True).fit(cycle, train_config=TRAIN)


@pytest.fixture(scope="module")
def bert4rec(cycle):
    return BERT4Rec(**TINY_SEQUENTIAL, epochs=2).fit(cycle, train_config=TRAIN)


@pytest.fixture(scope="module")
def text_sasrec(cycle):
    texts = cycle.item_table.get_column("title").to_list()  # row i: item index i
    vectors = HashTextEncoder(16).encode(texts)
    model = SASRec(**TINY_SEQUENTIAL, epochs=2, item_repr="id+text", item_text=vectors)
    return model.fit(cycle, train_config=TRAIN), texts


# ---------------------------------------------------------------------- exact methods
@pytest.mark.parametrize("fixture", ["ease", "knn"])
def test_item_weights_sum_to_the_score(request, fixture):
    model = request.getfixturevalue(fixture)
    history = np.array([0, 4, 8, 4, 13])  # item 4 twice: its two positions share its weight
    items = [12, 16, 1, 20]
    weights = METHODS["item-weights"].weights(model, history, items)
    assert weights.shape == (4, 5)
    np.testing.assert_allclose(weights.sum(axis=1), _scores(model, history)[items], atol=1e-5)
    assert weights[0, 1] == weights[0, 3]
    single = model.item_contributions(history, 12)[1]
    assert weights[0, 1] == pytest.approx(single / 2)


def test_dot_product_sums_to_the_score(bpr):
    assert isinstance(bpr, PooledItemVectors)
    history = np.array([0, 4, 8, 4])
    items = [12, 16, 3]
    weights = METHODS["dot-product"].weights(bpr, history, items)
    np.testing.assert_allclose(weights.sum(axis=1), _scores(bpr, history)[items], atol=1e-5)
    vectors = bpr.pooled_item_vectors().astype(np.float64)
    assert weights[1, 0] == pytest.approx(vectors[0] @ vectors[16] / 3)  # 3 distinct items
    assert weights[1, 1] == pytest.approx(vectors[4] @ vectors[16] / 3 / 2)  # shared by 2


# ---------------------------------------------------------------------- occlusion
@pytest.mark.parametrize("fixture", ["sasrec", "vae", "ease", "bpr"])
def test_occlusion_is_the_score_lost_without_each_item(request, fixture, monkeypatch):
    model = request.getfixturevalue(fixture)
    history = LONG
    items = [1, 5, 6]
    calls = []
    score_history = model.score_history
    monkeypatch.setattr(model, "score_history", lambda h: calls.append(len(h)) or score_history(h))
    weights = METHODS["occlusion"].weights(model, history, items)
    rescored = set(np.unique(history).tolist())
    if isinstance(model, SequentialRecommender):  # item 4 occurs only before the window
        rescored -= {4}
    assert calls == [1 + len(rescored)]  # one batched call
    monkeypatch.undo()
    base = _scores(model, history)
    for item in np.unique(history):
        at = history == item
        without = _scores(model, history[~at])
        np.testing.assert_allclose(
            weights[:, at].sum(axis=1), base[items] - without[items], atol=1e-5
        )
        assert np.allclose(weights[:, at], weights[:, at][:, :1])  # repeated positions share


def test_occlusion_rescores_only_the_most_recent_distinct_items(sasrec, monkeypatch):
    monkeypatch.setattr(methods, "MAX_OCCLUDED_ITEMS", 3)
    weights = METHODS["occlusion"].weights(sasrec, LONG, [1])
    # newest distinct items: 3 (positions 0 and 10), 0, 11; the others are older
    assert np.all(weights[0, 1:8] == 0) and np.all(weights[0, [8, 9, 10]] != 0)
    assert weights[0, 0] == weights[0, 10]


def test_sequential_models_explain_by_occlusion_not_by_a_model_method(sasrec):
    assert not isinstance(sasrec, ItemContributions)
    assert supported_methods(sasrec)[0] == "occlusion"
    (expl,) = explain(sasrec, LONG, [1])
    assert expl.method == "occlusion"
    a, b = explain(sasrec, LONG, [1, 7])
    assert not np.allclose(a.weights, b.weights)  # each recommendation has its own reasons


# ---------------------------------------------------------------------- attention
def test_attention_rollout_of_one_block_is_half_attention_half_identity():
    attention = np.array([[[[1.0, 0.0], [0.25, 0.75]], [[1.0, 0.0], [0.75, 0.25]]]])  # (1, 2, 2, 2)
    rollout = attention_rollout(attention)
    np.testing.assert_allclose(rollout, [[1.0, 0.0], [0.25, 0.75]])
    twice = attention_rollout(np.concatenate([attention, attention]))
    np.testing.assert_allclose(twice, rollout @ rollout)


@pytest.mark.parametrize("fixture", ["sasrec", "bert4rec"])
def test_attention_rollout_rows_sum_to_one_and_ignore_cut_off_positions(request, fixture):
    model = request.getfixturevalue(fixture)
    matrices = model.attention_matrices(LONG)
    assert matrices.shape == (1, 2, 8, 8)
    rollout = attention_rollout(matrices)
    np.testing.assert_allclose(rollout.sum(axis=1), 1.0, atol=1e-9)
    weights = METHODS["attention-rollout"].weights(model, LONG, [1, 5])
    room = 8 - int(model.append_mask)  # BERT4Rec reads its [MASK] at the last position
    cut = len(LONG) - room
    assert np.all(weights[:, :cut] == 0) and np.all(weights[:, cut:] > 0)
    np.testing.assert_array_equal(weights[0], weights[1])  # the same for every item
    mask_share = rollout[-1, -1] if model.append_mask else 0.0
    assert weights[0].sum() + mask_share == pytest.approx(1.0)
    assert "same weights for every recommended item" in METHODS["attention-rollout"].description


def test_attention_maps_are_the_scoring_positions_row_per_block_and_head(sasrec, bert4rec):
    maps = sasrec.attention_maps(LONG)
    assert maps.shape == (1, 2, len(LONG))
    assert np.all(maps[..., :3] == 0)  # cut off by the window of 8
    np.testing.assert_allclose(maps.sum(axis=-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(sasrec.attention_weights(LONG), maps[-1].mean(axis=0))
    short = bert4rec.attention_maps(np.array([1, 2, 3]))
    assert short.shape == (1, 2, 3) and np.all(short.sum(axis=-1) < 1.0)  # rest: [MASK]


# ---------------------------------------------------------------------- gradients
def _baseline_score(model, history, items):
    """A sequential model's score with every history input vector set to padding's."""
    tokens = model.history_tokens([history])
    vectors = model.embed_tokens(tokens)
    real = ((tokens > 0) & (tokens <= model.num_items)).unsqueeze(-1)
    with torch.no_grad():
        full = model.score_embedded(tokens, vectors)[0, items]
        empty = model.score_embedded(tokens, torch.where(real, 0.0, vectors))[0, items]
    return (full - empty).double().numpy()


@pytest.mark.parametrize("fixture", ["sasrec", "bert4rec"])
def test_integrated_gradients_are_complete_for_sequential_models(request, fixture):
    model = request.getfixturevalue(fixture)
    items = [1, 5, 9]
    weights = METHODS["integrated-gradients"].weights(model, LONG, items)
    assert weights.shape == (3, len(LONG)) and np.all(weights[:, : 3 + int(model.append_mask)] == 0)
    expected = _baseline_score(model, LONG, items)
    np.testing.assert_allclose(weights.sum(axis=1), expected, rtol=0.02, atol=2e-3)


@pytest.mark.parametrize("fixture", ["cdae", "cfgan"])
def test_integrated_gradients_are_complete_for_autoencoders(request, fixture):
    model = request.getfixturevalue(fixture)
    history = np.array([0, 4, 8, 4])
    items = [12, 16, 2]
    weights = METHODS["integrated-gradients"].weights(model, history, items)
    x = torch.from_numpy(histories_to_csr([history], model.num_items).toarray()).float()
    with torch.no_grad():
        change = (model.reconstruct(x, None) - model.reconstruct(torch.zeros_like(x), None))[0]
    np.testing.assert_allclose(weights.sum(axis=1), change[items].double(), rtol=0.02, atol=2e-3)
    assert weights[0, 1] == pytest.approx(weights[0, 3])  # item 4's column, shared


def test_normalised_input_autoencoders_have_no_integrated_gradients(vae):
    # the score of every positive multiple of a row is the same: no path from the empty row
    x = torch.from_numpy(histories_to_csr([np.array([0, 4, 8])], vae.num_items).toarray()).float()
    with torch.no_grad():
        torch.testing.assert_close(vae.reconstruct(x, None), vae.reconstruct(1e-3 * x, None))
    with pytest.raises(ConfigError, match="integrated-gradients"):
        explain(vae, np.array([0, 4]), [3], method="integrated-gradients")


def test_gradient_x_input_is_the_gradient_times_the_input(vae, sasrec):
    history = np.array([0, 4, 8])
    weights = METHODS["gradient-x-input"].weights(vae, history, [12])
    x = torch.from_numpy(histories_to_csr([history], vae.num_items).toarray()).float()
    x.requires_grad_()
    (grad,) = torch.autograd.grad(vae.reconstruct(x, None)[0, 12], x)
    np.testing.assert_allclose(weights[0], grad[0, history].double(), rtol=1e-5, atol=1e-7)

    tokens = sasrec.history_tokens([LONG])
    vectors = sasrec.embed_tokens(tokens).detach().requires_grad_()
    (grad,) = torch.autograd.grad(sasrec.score_embedded(tokens, vectors)[0, 5], vectors)
    expected = (grad * vectors).sum(dim=-1)[0, -8:].detach().double()
    weights = METHODS["gradient-x-input"].weights(sasrec, LONG, [5])
    np.testing.assert_allclose(weights[0, 3:], expected, rtol=1e-5, atol=1e-7)


def test_scores_from_input_vectors_match_the_model(sasrec):
    tokens = sasrec.history_tokens([LONG])
    with torch.no_grad():
        scores = sasrec.score_embedded(tokens, sasrec.embed_tokens(tokens))[0].numpy()
    expected = sasrec.query_vectors([LONG])[0] @ sasrec.item_vectors().T  # without seen_bias
    np.testing.assert_allclose(scores, expected, atol=1e-5)


# ---------------------------------------------------------------------- text tokens
def test_token_weights_are_the_score_lost_without_each_word(text_sasrec):
    model, texts = text_sasrec
    encoder = HashTextEncoder(16)
    history, item = np.array([1, 2, 3]), 4
    text = texts[item] + " classic"
    pairs = token_weights(model, encoder, history, item, text)
    assert [w for w, _ in pairs] == text.split()

    # reference: put the text vector into the model's own table and rescore
    def score_with(words):
        changed = copy.deepcopy(model)
        with torch.no_grad():
            changed.net.items.text[item] = torch.from_numpy(encoder.encode([" ".join(words)])[0])
        return _scores(changed, history)[item]

    full = score_with(text.split())
    for word, weight in pairs:
        without = [w for w in text.split() if w != word]
        assert weight == pytest.approx(full - score_with(without), abs=1e-4)


def test_explain_fills_tokens_when_given_an_encoder_and_texts(text_sasrec):
    model, texts = text_sasrec
    (expl,) = explain(
        model, np.array([1, 2, 3]), [4], encoder=HashTextEncoder(16), item_texts=texts
    )
    assert [w for w, _ in expl.tokens] == texts[4].split()
    (plain,) = explain(model, np.array([1, 2, 3]), [4])
    assert plain.tokens == ()


# ---------------------------------------------------------------------- sentences
def test_sentence_names_the_strongest_history_items_by_title(sasrec):
    titles = item_titles(sasrec)
    (expl,) = explain(sasrec, LONG, [1], method="attention-rollout")
    (first, _), (second, _) = expl.top(2)
    assert expl.sentence == (
        f'Recommended because you liked "{titles[first]}" and "{titles[second]}" '
        "(attention-rollout)."
    )
    assert titles[0].startswith("movie number")


def test_sentence_falls_back_to_raw_ids_without_titles(ease, blocks):
    vocab = blocks.item_vocab
    history = vocab.indices(["i0", "i4", "i8"])  # one taste group (raw id mod 4)
    (expl,) = explain(ease, history, [vocab.index("i12")], method="item-weights")
    (first, _), (second, _) = expl.top(2)
    assert expl.sentence == (
        f'Recommended because you liked "{vocab.raw([first])[0]}" and '
        f'"{vocab.raw([second])[0]}" (item-weights).'
    )


# ---------------------------------------------------------------------- families
EXPECTED = {
    "pop": ["occlusion"],
    "itemknn": ["item-weights", "occlusion"],
    "ease": ["item-weights", "occlusion"],
    "bpr": ["dot-product", "occlusion"],
    "sasrec": ["occlusion", "attention-rollout", "integrated-gradients", "gradient-x-input"],
    "bert4rec": ["occlusion", "attention-rollout", "integrated-gradients", "gradient-x-input"],
    "cl4srec": ["occlusion", "attention-rollout", "integrated-gradients", "gradient-x-input"],
    "multvae": ["occlusion", "gradient-x-input"],  # L2-normalised input: no IG baseline
    "multdae": ["occlusion", "gradient-x-input"],
    "cdae": ["occlusion", "integrated-gradients", "gradient-x-input"],
    "recvae": ["occlusion", "gradient-x-input"],
    "cfgan": ["occlusion", "integrated-gradients", "gradient-x-input"],
    "lightgcn": ["dot-product", "occlusion"],  # graph models: pooled propagated item vectors
    "sgl": ["dot-product", "occlusion"],
    "simgcl": ["dot-product", "occlusion"],
    "xsimgcl": ["dot-product", "occlusion"],
}


@pytest.mark.parametrize("name", list_models())
def test_supported_methods_per_model_family(name):
    model = get_model_class(name)()
    assert supported_methods(model) == EXPECTED[name]


def test_every_registered_model_is_listed():
    assert sorted(EXPECTED) == list_models()
    assert list(METHODS)[:3] == ["item-weights", "dot-product", "occlusion"]  # exact first


# ---------------------------------------------------------------------- bad input
def test_item_outside_the_catalog(ease):
    with pytest.raises(
        ConfigError, match=re.escape("items must be item indices in [0, 24); got 24")
    ):
        explain(ease, np.array([0, 4]), [24])
    with pytest.raises(
        ConfigError, match=re.escape("history must hold item indices in [0, 24); got -1")
    ):
        explain(ease, np.array([0, -1]), [3])


def test_method_the_model_does_not_support(bpr):
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "method must be one of ['dot-product', 'occlusion'] for BPR; got 'attention-rollout'"
        ),
    ):
        explain(bpr, np.array([0, 4]), [3], method="attention-rollout")
    with pytest.raises(TypeError, match="'attention-rollout' does not support BPR"):
        METHODS["attention-rollout"].weights(bpr, np.array([0, 4]), [3])


def test_empty_history_gives_the_popularity_explanation(sasrec, blocks):
    pop = Pop().fit(blocks)
    for model in (sasrec, pop):
        (expl,) = explain(model, np.array([], dtype=np.int64), [3], method="occlusion")
        assert expl.method == "popularity" and expl.weights.shape == (0,)
        assert expl.sentence == "Popular among all users (no history to explain from)."
    with pytest.raises(ConfigError, match=re.escape("must be one of ['occlusion'] for Pop")):
        explain(pop, np.array([], dtype=np.int64), [3], method="integrated-gradients")


def test_text_arguments_go_together_and_need_a_text_model(sasrec, text_sasrec):
    model, texts = text_sasrec
    with pytest.raises(ConfigError, match="encoder and item_texts go together.*got only encoder"):
        explain(model, np.array([1, 2]), [4], encoder=HashTextEncoder(16))
    with pytest.raises(ConfigError, match="need a model that reads item text"):
        explain(sasrec, np.array([1, 2]), [4], encoder=HashTextEncoder(16), item_texts=texts)
    with pytest.raises(ConfigError, match=r"token_weights\(\): model must be a sequential model"):
        token_weights(sasrec, HashTextEncoder(16), np.array([1, 2]), 4, "a text")
