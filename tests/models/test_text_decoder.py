"""Mult-VAE / Mult-DAE with item text in the output layer (``item_repr``)."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import torch

import pytest

from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import ConfigError, DataError
from ssl4rec.evaluation.cold_start import cold_start_split, evaluate_cold_start
from ssl4rec.models.base import load_model
from ssl4rec.models.mult_dae import MultDAE, MultDAEConfig
from ssl4rec.models.mult_vae import MultVAE, MultVAEConfig
from ssl4rec.models.nn.text_output import TextOutput
from ssl4rec.testing.fakes import HashTextEncoder
from ssl4rec.text.cache import item_embeddings
from ssl4rec.training.trainer import TrainConfig

TINY = dict(hidden_dims=(32,), embedding_dim=16, batch_size=32, learning_rate=1e-2)
VAE = dict(TINY, total_anneal_steps=50)
GROUPS = ["alpha", "bravo", "charlie", "delta"]
CFG = TrainConfig(progress=False, num_threads=1)


def group_data(
    num_users: int = 160, per_group: int = 25, length: int = 12, seed: int = 0, named: bool = False
):
    """Each user's items come from one group; an item's text names its group.

    With ``named`` the text also has a word of the item's own, so no two items tie.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(num_users):
        group = GROUPS[u % len(GROUPS)]
        for t, i in enumerate(rng.choice(per_group, size=length, replace=False)):
            rows.append((f"u{u}", f"{group}{i}", t))
    frame = pl.DataFrame(rows, schema=["user_id", "item_id", "ts"], orient="row")
    ids = [f"{g}{i}" for g in GROUPS for i in range(per_group)]
    titles = [f"{g} {g} record{i if named else ''}" for g in GROUPS for i in range(per_group)]
    table = pl.DataFrame({"item_id": ids, "title": titles})
    return Interactions.from_frame(frame, time_col="ts", item_table=table)


@pytest.fixture(scope="module")
def data():
    return group_data()


@pytest.fixture(scope="module")
def vectors(data, tmp_path_factory):
    return item_embeddings(data, HashTextEncoder(32), cache_dir=tmp_path_factory.mktemp("emb"))


@pytest.fixture(scope="module")
def named():
    return group_data(named=True)


@pytest.fixture(scope="module")
def named_vectors(named, tmp_path_factory):
    return item_embeddings(named, HashTextEncoder(32), cache_dir=tmp_path_factory.mktemp("emb"))


def _output_params(model):
    return {name: p for name, p in model.net.decoder.named_parameters()}


@pytest.mark.parametrize("cls", [MultVAE, MultDAE])
def test_text_decoder_has_no_per_item_parameter(cls, data, vectors):
    model = cls(**TINY, epochs=1, item_repr="text", item_text=vectors).fit(data, train_config=CFG)
    n = data.num_items
    per_item = [name for name, p in _output_params(model).items() if n in p.shape]
    assert per_item == []
    id_model = cls(**TINY, epochs=1).fit(data, train_config=CFG)
    assert [name for name, p in _output_params(id_model).items() if n in p.shape]
    both = cls(**TINY, epochs=1, item_repr="id+text", item_text=vectors).fit(data, train_config=CFG)
    assert sorted(name for name, p in _output_params(both).items() if n in p.shape) == [
        "output.id_bias",
        "output.items.ids.weight",
    ]


def test_scores_of_an_item_follow_its_text_vector(data, vectors):
    model = MultVAE(**VAE, epochs=3, item_repr="text", item_text=vectors).fit(data, train_config=CFG)
    history = [np.array([0, 1, 2])]
    before = model.score_history(history)[0]
    text = model.net.decoder.output.items.text
    with torch.no_grad():
        text[5] = text[60]  # item 5 now reads like item 60
    after = model.score_history(history)[0]
    assert after[5] == pytest.approx(float(after[60]), abs=1e-5)
    assert after[5] != pytest.approx(float(before[5]), abs=1e-4)
    others = torch.ones(data.num_items, dtype=torch.bool)
    others[5] = False
    torch.testing.assert_close(after[others], before[others])


@pytest.mark.parametrize("cls", [MultVAE, MultDAE])
def test_text_decoder_ranks_held_out_items_and_id_decoder_cannot(cls, data, tmp_path):
    cs = cold_start_split(data, fraction=0.1, seed=0)
    text = item_embeddings(cs.split.train, HashTextEncoder(32), cache_dir=tmp_path)
    extra = VAE if cls is MultVAE else TINY
    id_model = cls(**extra, epochs=30).fit(cs.split.train, train_config=CFG)
    text_model = cls(**extra, epochs=30, item_repr="text", item_text=text)
    text_model.fit(cs.split.train, train_config=CFG)
    metrics = ["hit@10", "ndcg@10"]
    id_res = evaluate_cold_start(id_model, cs, metrics=metrics)
    text_res = evaluate_cold_start(text_model, cs, metrics=metrics)
    # 10 of 100 items are held out; a random ranking of the 100 puts a given one in
    # the top 10 with chance ~0.1 (fewer after excluding seen items: still < 0.15)
    assert id_res["cold"].metrics["hit@10"] < 0.15
    assert text_res["cold"].metrics["hit@10"] > 0.5
    assert text_res["warm"].metrics["hit@10"] > 0.3


@pytest.mark.parametrize("cls", [MultVAE, MultDAE])
def test_id_dropout_lets_id_plus_text_rank_held_out_items(cls, data, tmp_path):
    cs = cold_start_split(data, fraction=0.1, seed=0)
    text = item_embeddings(cs.split.train, HashTextEncoder(32), cache_dir=tmp_path)
    extra = VAE if cls is MultVAE else TINY
    results = {}
    for drop in (0.0, 0.5):
        model = cls(**extra, epochs=30, item_repr="id+text", item_text=text, id_dropout=drop)
        model.fit(cs.split.train, train_config=CFG)
        results[drop] = evaluate_cold_start(model, cs, metrics=["hit@10"])
    # without it a held-out item has a zero ID vector and bias, below every popular item
    assert results[0.0]["cold"].metrics["hit@10"] < 0.15
    assert results[0.5]["cold"].metrics["hit@10"] > 0.3
    assert results[0.5]["warm"].metrics["hit@10"] > 0.3


def test_untrained_and_dropped_items_take_the_unknown_vector_and_bias():
    torch.manual_seed(0)
    trained = torch.tensor([True, True, True, False])
    out = TextOutput(4, 8, "id+text", text=torch.randn(4, 6), trained=trained, id_dropout=0.5)
    with torch.no_grad():
        out.items.ids.weight.normal_()
        out.id_bias.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]))
        out.unknown_bias.fill_(-5.0)
        out.items.unknown.normal_()
    text_part = out.text_bias(out.items.text).squeeze(-1)
    out.eval()  # the untrained item (3) takes the unknown bias, the others their own
    torch.testing.assert_close(out.bias() - text_part, torch.tensor([1.0, 2.0, 3.0, -5.0]))
    table = out.items.table()
    text_vec = out.items.adaptor(out.items.text)
    torch.testing.assert_close(table[3], text_vec[3] + out.items.unknown)  # no ID vector of its own
    drop = torch.tensor([False, True, False, False])  # item 1 dropped in a training step
    torch.testing.assert_close(out.bias(drop) - text_part, torch.tensor([1.0, -5.0, 3.0, -5.0]))
    swapped = out.items.drop_ids(table, drop)
    torch.testing.assert_close(swapped[1] - table[1], out.items.unknown - out.items.ids.weight[1])
    torch.testing.assert_close(swapped[[0, 2, 3]], table[[0, 2, 3]])
    h = torch.randn(2, 8)
    torch.testing.assert_close(out(h), h @ table.T + out.bias())  # eval: nothing dropped
    with pytest.raises(ValueError, match="id_dropout needs mode 'id\\+text'"):
        TextOutput(4, 8, "text", text=torch.randn(4, 6), id_dropout=0.5)


@pytest.mark.parametrize("item_repr", ["text", "id+text"])
def test_save_load_round_trip_without_item_text(item_repr, named, named_vectors, tmp_path):
    model = MultVAE(**VAE, epochs=2, item_repr=item_repr, item_text=named_vectors)
    model.fit(named, train_config=CFG)
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")  # no item_text: the weights hold the vectors
    assert isinstance(loaded, MultVAE) and loaded.config.item_repr == item_repr
    history = [np.array([3, 7]), np.array([], dtype=np.int64)]
    torch.testing.assert_close(loaded.score_history(history), model.score_history(history))
    torch.testing.assert_close(loaded.score(np.arange(4)), model.score(np.arange(4)))
    top = loaded.recommend_history(["alpha0"], k=5)
    assert np.array_equal(top.items, model.recommend_history(["alpha0"], k=5).items)
    assert len(set(top.scores[0].tolist())) > 1  # item-specific words: no five-way tie


def test_id_decoder_saves_no_text(data, tmp_path):
    model = MultDAE(**TINY, epochs=1).fit(data, train_config=CFG)
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.config.item_repr == "id"
    assert not any("text" in k for k in loaded.net.state_dict())


@pytest.mark.parametrize(
    ("field", "value"),
    [("item_repr", "tags"), ("num_experts", 0), ("adaptor_dropout", 1.0)],
)
@pytest.mark.parametrize("config_class", [MultVAEConfig, MultDAEConfig])
def test_bad_text_fields_name_the_field(config_class, field, value):
    with pytest.raises(ConfigError, match=field) as err:
        config_class(**{field: value})
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("item_repr", ["id", "text"])
def test_id_dropout_needs_id_plus_text(item_repr):
    with pytest.raises(ConfigError, match="id_dropout must be 0 unless item_repr is 'id\\+text'"):
        MultVAEConfig(item_repr=item_repr, id_dropout=0.5)


def test_id_dropout_is_a_fraction():
    with pytest.raises(ConfigError, match="id_dropout") as err:
        MultDAEConfig(item_repr="id+text", id_dropout=1.0)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("item_repr", ["text", "id+text"])
def test_text_decoder_without_item_text_says_how_to_get_vectors(item_repr, data):
    model = MultVAE(**VAE, epochs=1, item_repr=item_repr)
    message = f"MultVAE.item_text must be given when item_repr='{item_repr}'"
    with pytest.raises(ConfigError, match=re.escape(message)):
        model.fit(data, train_config=CFG)


def test_text_vectors_must_cover_the_catalog(data):
    model = MultDAE(**TINY, epochs=1, item_repr="text", item_text=np.zeros((5, 4), np.float32))
    with pytest.raises(DataError, match=r"MultDAE: item_text must have shape \(100, d\)"):
        model.fit(data, train_config=CFG)


def test_popularity_prior_needs_a_per_item_bias(data, vectors):
    model = MultVAE(**VAE, epochs=1, item_repr="text", item_text=vectors).fit(data, train_config=CFG)
    with pytest.raises(ConfigError, match="item_repr 'text' has no per-item output bias"):
        model.set_output_prior(torch.zeros(data.num_items))
    both = MultVAE(**VAE, epochs=1, item_repr="id+text", item_text=vectors)
    both.fit(data, train_config=CFG)
    both.set_output_prior(torch.arange(data.num_items, dtype=torch.float32))
    assert float(both.net.decoder.output.id_bias.detach()[7]) == 7.0


def test_dp_sgd_refuses_a_text_decoder_in_one_line(data, vectors):
    from ssl4rec.privacy.config import PrivacyConfig

    model = MultDAE(**TINY, epochs=1, item_repr="text", item_text=vectors)
    with pytest.raises(ConfigError, match="item_repr 'text': Opacus clips") as err:
        model.fit(data, privacy=PrivacyConfig(target_epsilon=4.0), train_config=CFG)
    assert "\n" not in str(err.value)
    assert MultDAE(**TINY).dp_refusal is None


def test_loaded_text_model_is_served(named, named_vectors, tmp_path):
    from fastapi.testclient import TestClient

    from ssl4rec.serving.app import create_app
    from ssl4rec.serving.settings import ServeSettings

    model = MultVAE(**VAE, epochs=2, item_repr="text", item_text=named_vectors)
    model.fit(named, train_config=CFG)
    model.save(tmp_path / "m")
    settings = ServeSettings(model_dir=str(tmp_path / "m"), db=str(tmp_path / "e.sqlite"))
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").json()["model"] == "multvae"
        body = client.get("/users/u1/recommendations", params={"k": 5}).json()
    history = model.history.sequence(model.user_vocab.index("u1"))
    expected = model.score_history([history])[0].numpy()
    expected[np.unique(history)] = -np.inf
    top = model.item_vocab.raw(np.argsort(-expected)[:5])
    assert [row["item"] for row in body["items"]] == list(top)


def test_experiment_runs_a_text_decoder_with_cold_items(data, vectors):
    from ssl4rec.runner import run_experiment
    from ssl4rec.runner.experiment import ExperimentConfig
    from ssl4rec.runner.run import item_text_source

    config = ExperimentConfig.from_dict(
        {
            "data": {"dataset": "ml-100k"},  # not loaded: the data is passed in
            "split": {"protocol": "random", "cold_item_fraction": 0.1, "cold_item_seed": 0},
            "model": {"name": "multvae", **VAE, "epochs": 2, "item_repr": "text"},
            "train": {"progress": False, "num_threads": 1, "patience": None},
            "eval": {"metrics": ["hit@10"]},
        }
    )
    source = item_text_source(config.model)  # what the runner encodes with by default
    assert source is not None and source.encoder == "all-MiniLM-L6-v2"
    result = run_experiment(config, data=data, item_text=vectors)
    assert result.model.config.item_repr == "text"
    assert {"cold", "warm"} <= set(result.views)
    assert result.views["cold"].num_users > 0
