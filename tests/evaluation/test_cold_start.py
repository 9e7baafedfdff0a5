"""Tests of the cold-start item protocol."""

from __future__ import annotations

import numpy as np
import polars as pl
import torch

import pytest

from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import ConfigError
from ssl4rec.evaluation.cold_start import cold_start_split, evaluate_cold_start
from ssl4rec.models.sasrec import SASRec
from ssl4rec.testing.fakes import HashTextEncoder
from ssl4rec.text.cache import item_embeddings
from ssl4rec.training.trainer import TrainConfig

TINY = dict(
    embedding_dim=16,
    num_layers=1,
    num_heads=2,
    ff_dim=32,
    dropout=0.0,
    batch_size=64,
    learning_rate=1e-2,
    max_seq_len=10,
)
GROUPS = ["alpha", "bravo", "charlie", "delta"]


def group_data(num_users=160, per_group=25, length=12, seed=0) -> Interactions:
    """Users stay inside one group of items; item text names the group."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(num_users):
        g = u % len(GROUPS)
        for t, i in enumerate(rng.choice(per_group, size=length, replace=False)):
            rows.append((f"u{u}", f"{GROUPS[g]}{i}", t))
    frame = pl.DataFrame(rows, schema=["user_id", "item_id", "ts"], orient="row")
    ids = [f"{g}{i}" for g in GROUPS for i in range(per_group)]
    table = pl.DataFrame(
        {
            "item_id": ids,
            "title": [
                f"{i[:-2] if i[-2].isdigit() else i[:-1]} "
                f"{i[:-2] if i[-2].isdigit() else i[:-1]} film"
                for i in ids
            ],
        }
    )
    return Interactions.from_frame(frame, time_col="ts", item_table=table)


@pytest.fixture(scope="module")
def data():
    return group_data()


def test_held_out_items_never_reach_training(data):
    cs = cold_start_split(data, fraction=0.1, seed=3)
    assert len(cs.cold_items) == 10
    train_items = set(cs.split.train.items.tolist()) | set(cs.split.valid.items.tolist())
    assert not train_items & set(cs.cold_items.tolist())
    assert set(cs.cold_test.items.tolist()) <= set(cs.cold_items.tolist())
    assert len(cs.cold_test) + len(cs.warm_test) == len(cs.split.test)
    again = cold_start_split(data, fraction=0.1, seed=3)
    assert np.array_equal(again.cold_items, cs.cold_items)  # seeded
    assert not np.array_equal(cold_start_split(data, seed=4).cold_items, cs.cold_items)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.5])
def test_fraction_must_be_a_share(data, fraction):
    with pytest.raises(ConfigError, match="fraction"):
        cold_start_split(data, fraction=fraction)


def test_scoring_history_is_restored(data):
    cs = cold_start_split(data, seed=0)
    model = SASRec(**TINY, epochs=1).fit(
        cs.split.train, train_config=TrainConfig(progress=False, num_threads=1)
    )
    before = model.history
    with model.using_history(cs.split.train_valid):
        assert model.history is not before
    assert model.history is before


def test_text_model_ranks_cold_items_and_id_model_cannot(data, tmp_path):
    cs = cold_start_split(data, fraction=0.1, seed=0)
    cfg = TrainConfig(progress=False, num_threads=1)
    id_model = SASRec(**TINY, epochs=8).fit(cs.split.train, train_config=cfg)
    vectors = item_embeddings(cs.split.train, HashTextEncoder(32), cache_dir=tmp_path)
    text_model = SASRec(**TINY, epochs=8, item_repr="text", item_text=vectors)
    text_model.fit(cs.split.train, train_config=cfg)
    metrics = ["hit@10", "ndcg@10"]
    id_res = evaluate_cold_start(id_model, cs, metrics=metrics)
    text_res = evaluate_cold_start(text_model, cs, metrics=metrics)
    assert id_res["cold"].metrics["hit@10"] < 0.2
    assert text_res["cold"].metrics["hit@10"] > 0.5
    assert text_res["cold"].part == "test-cold"
    assert text_res["warm"].num_users > text_res["cold"].num_users


def test_experiment_with_cold_items_reports_cold_and_warm_views(data, tmp_path):
    from ssl4rec.runner import run_experiment
    from ssl4rec.runner.experiment import ExperimentConfig

    config = ExperimentConfig.from_dict(
        {
            "data": {"dataset": "ml-100k"},  # not loaded: the data is passed in
            "split": {"protocol": "loo", "cold_item_fraction": 0.1, "cold_item_seed": 0},
            "model": {"name": "sasrec", **TINY, "epochs": 2, "seen_bias": True},
            "train": {"progress": False, "num_threads": 1, "patience": None},
            "eval": {"metrics": ["hit@10", "ndcg@10"], "both_conventions": True},
        }
    )
    result = run_experiment(config, data=data)
    assert result.split.cold_items is not None and len(result.split.cold_items) == 10
    assert set(result.views) == {"exclude_seen=true", "exclude_seen=false", "cold", "warm"}
    assert result.views["exclude_seen=true"] is result.test
    assert result.views["cold"].part == "test-cold"
    expected = cold_start_split(data, fraction=0.1, seed=0)
    assert np.array_equal(result.split.cold_items, expected.cold_items)
    assert result.views["cold"].num_users == len(expected.cold_test)
    assert set(result.metrics()["views"]) == set(result.views)


def test_cold_item_fraction_is_validated():
    from ssl4rec.runner.experiment import SplitConfig

    with pytest.raises(ConfigError, match="cold_item_fraction"):
        SplitConfig(protocol="loo", cold_item_fraction=1.5)


def test_id_dropout_gives_held_out_items_the_unknown_item_vector(data, tmp_path):
    cs = cold_start_split(data, fraction=0.1, seed=0)
    vectors = item_embeddings(cs.split.train, HashTextEncoder(32), cache_dir=tmp_path)
    model = SASRec(**TINY, epochs=2, item_repr="id+text", id_dropout=0.3, item_text=vectors)
    model.fit(cs.split.train, train_config=TrainConfig(progress=False, num_threads=1))
    items = model.net.items
    items.eval()
    with torch.no_grad():
        table = items.table()
        text_only = items.adaptor(items.text) + items.unknown
    cold = torch.from_numpy(cs.cold_items)
    torch.testing.assert_close(table[cold], text_only[cold])
    warm = torch.ones(len(table), dtype=torch.bool)
    warm[cold] = False
    assert not torch.isclose(table[warm], text_only[warm]).all(dim=1).any()
    assert float(items.unknown.detach().abs().sum()) > 0
