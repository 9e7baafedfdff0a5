"""Tests of the experiment runner: item text for text models, renamed model fields."""

from __future__ import annotations

import importlib.util

import numpy as np
import torch

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.runner import EncodedItemText, build_model, item_text_source, run_experiment
from ssl4rec.runner.experiment import ExperimentConfig
from ssl4rec.testing.fakes import HashTextEncoder
from ssl4rec.testing.synthetic import TINY_SEQUENTIAL, cycle_data
from ssl4rec.text.cache import item_embeddings


def experiment(**model: object) -> ExperimentConfig:
    return ExperimentConfig.from_dict(
        {
            "data": {"dataset": "ml-100k"},  # not loaded: the data is passed in
            "split": {"protocol": "loo"},
            "model": {"name": "sasrec", **TINY_SEQUENTIAL, "epochs": 1, **model},
            "train": {"progress": False, "num_threads": 1, "patience": None},
            "eval": {"metrics": ["ndcg@10"]},
        }
    )


def test_text_models_get_a_source_built_from_their_text_fields(tmp_path):
    config = experiment(
        item_repr="id+text",
        text_encoder="some/encoder",
        text_template="{title}",
        text_cache_dir=str(tmp_path),
    )
    model = build_model(config)
    assert model.item_text == EncodedItemText("some/encoder", "{title}", str(tmp_path))
    assert item_text_source(config.model) == model.item_text
    assert build_model(experiment()).item_text is None  # ID model: no text
    vectors = np.ones((12, 4), dtype=np.float32)
    assert build_model(config, item_text=vectors).item_text is vectors
    assert build_model(experiment(), item_text=vectors).item_text is None
    # an ID model whose ID vectors start from text reads it too
    assert item_text_source(experiment(id_init="text", text_encoder="some/encoder").model) == (
        EncodedItemText("some/encoder", None, None)
    )


def test_run_encodes_item_text_as_the_config_says(monkeypatch, tmp_path):
    import ssl4rec.text.sentence_transformers as st

    names: list[str] = []

    def fake_encoder(name: str) -> HashTextEncoder:
        names.append(name)
        return HashTextEncoder(16)

    monkeypatch.setattr(st, "SentenceTransformerEncoder", fake_encoder)
    config = experiment(item_repr="text", text_encoder="some/encoder", text_cache_dir=str(tmp_path))
    result = run_experiment(config, data=cycle_data())
    assert names == ["some/encoder"]  # loaded once, when the model is built
    expected = item_embeddings(result.split.train, HashTextEncoder(16), cache_dir=tmp_path)
    assert torch.equal(result.model.net.items.text, torch.from_numpy(expected))


def test_old_field_name_in_an_experiment_names_the_new_one():
    with pytest.raises(
        ConfigError, match=r"model: field 'hidden_dim' was renamed to 'embedding_dim'"
    ):
        ExperimentConfig.from_dict(
            {
                "data": {"dataset": "ml-100k"},
                "split": {"protocol": "loo"},
                "model": {"name": "bert4rec", "hidden_dim": 32},
            }
        )


def _graph_experiment(model: str, social: str) -> ExperimentConfig:
    return ExperimentConfig.from_dict(
        {
            "data": {"dataset": "ml-100k", "social": social},  # not loaded: data passed in
            "split": {"protocol": "temporal_ratio"},
            "model": {"name": model, "embedding_dim": 8, "num_layers": 1, "epochs": 1}
            if model != "ease"
            else {"name": "ease"},
            "train": {"progress": False, "num_threads": 1, "patience": None},
            "eval": {"metrics": ["ndcg@10"]},
        }
    )


def test_data_social_reaches_graph_models_and_is_refused_by_others(tmp_path):
    from ssl4rec.testing.synthetic import block_interactions

    path = tmp_path / "trust.tsv"
    path.write_text("trustor\ttrustee\nu0\tu4\nu4\tu8\nu1\tu999\n", encoding="utf-8")
    data = block_interactions()
    result = run_experiment(_graph_experiment("lightgcn", str(path)), data=data)
    vocab = result.split.train.user_vocab
    expected = [[vocab.index("u0"), vocab.index("u4")], [vocab.index("u4"), vocab.index("u8")]]
    np.testing.assert_array_equal(result.model.social, expected)
    with pytest.raises(ConfigError, match="data.social is set but model 'ease'"):
        run_experiment(_graph_experiment("ease", str(path)), data=data)


@pytest.mark.skipif(
    importlib.util.find_spec("optuna") is None, reason="optuna is not installed"
)
def test_an_optuna_tune_sets_the_final_model_to_its_best_trial():
    config = ExperimentConfig.from_dict(
        {
            "data": {"dataset": "ml-100k"},  # not loaded: the data is passed in
            "split": {"protocol": "loo"},
            "model": {"name": "ease"},
            "tune": {
                "search": "optuna",
                "trials": 4,
                "params": {"l2_reg": {"low": 1.0, "high": 1000.0, "log": True}},
            },
            "eval": {"metrics": ["ndcg@10"]},
        }
    )
    result = run_experiment(config, data=cycle_data())
    assert [row["state"] for row in result.tuning] == ["complete"] * 4
    best = max(result.tuning, key=lambda row: row["ndcg@10"])
    assert result.model.config.l2_reg == best["l2_reg"]
