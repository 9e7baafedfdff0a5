import logging
from pathlib import Path

import pytest

from ssl4rec.config.packaged import config_path, list_configs
from ssl4rec.errors import ConfigError
from ssl4rec.runner.experiment import ExperimentConfig, load_experiment

CONFIGS = [config_path(name) for name in list_configs()]


def test_round_trip_equal(tmp_path):
    cfg = ExperimentConfig.from_dict(
        {
            "data": {"dataset": "ml-100k", "preprocess": {"user_k": 5}},
            "split": {"protocol": "loo"},
            "model": {"name": "ease", "l2_reg": 100.0},
            "tune": {"l2_reg": [10.0, 100.0]},
            "eval": {"metrics": ["ndcg@10", "recall@20"]},
        }
    )
    path = tmp_path / "x.yaml"
    cfg.to_yaml(path)
    again = load_experiment(path)
    assert again == cfg
    assert again.to_dict() == cfg.to_dict()


def test_every_problem_is_reported_with_its_section():
    with pytest.raises(ConfigError) as info:
        ExperimentConfig.from_dict(
            {
                "model": {"name": "ease", "l2_reg": -1.0, "l2reg": 3},
                "split": {"protocol": "holdout"},
                "evaluation": {},
            }
        )
    text = str(info.value)
    assert "unknown section 'evaluation' (did you mean 'eval'?)" in text
    assert "model: unknown field 'l2reg' (did you mean 'l2_reg'?)" in text
    assert "split.protocol must be one of" in text


def test_invalid_value_names_field():
    with pytest.raises(ConfigError, match=r"model.l2_reg must be > 0; got -1.0"):
        ExperimentConfig.from_dict({"model": {"name": "ease", "l2_reg": -1.0}})


def test_unknown_model_and_metric_fail_at_load():
    with pytest.raises(ConfigError, match=r"model.name must be one of .*got 'eas' \(did you mean 'ease'\?\)"):
        ExperimentConfig.from_dict({"model": {"name": "eas"}})
    with pytest.raises(ConfigError, match="ndgc"):
        ExperimentConfig.from_dict({"model": {"name": "pop"}, "eval": {"metrics": ["ndgc@10"]}})


def test_tune_must_name_model_fields():
    with pytest.raises(ConfigError, match="tune: unknown field 'lambda'"):
        ExperimentConfig.from_dict({"model": {"name": "ease"}, "tune": {"lambda": [1.0]}})


def test_overrides_win_over_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  name: ease\n  l2_reg: 10.0\n")
    cfg = load_experiment(path, overrides=["model.l2_reg=20.0", "split.protocol=loo"])
    assert cfg.model.l2_reg == 20.0 and cfg.split.protocol == "loo"


def test_file_errors_name_the_file(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("model:\n  name: ease\nsplit:\n  protocl: loo\n")
    with pytest.raises(ConfigError, match=r"typo.yaml: SplitConfig|typo.yaml: split: unknown field 'protocl'"):
        load_experiment(path)


def test_train_epochs_and_seed_are_refused_with_their_model_fields(tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text("model:\n  name: multdae\ntrain:\n  max_epochs: 3\n  seed: 1\n")
    with pytest.raises(ConfigError) as err:
        load_experiment(path)
    text = str(err.value)
    assert text.startswith(f"{path}: ")
    assert "train: field 'max_epochs' was renamed to 'model.epochs'" in text
    assert "train: field 'seed' was renamed to 'model.seed'" in text
    with pytest.raises(ConfigError, match=r"train: field 'max_epochs' was renamed to 'model\.epochs'"):
        load_experiment(overrides=["model.name=multdae", "train.max_epochs=3"])
    cfg = load_experiment(overrides=["model.name=multdae", "model.epochs=3", "model.seed=1"])
    assert (cfg.model.epochs, cfg.model.seed) == (3, 1)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_configs_validate(path):
    cfg = load_experiment(path)
    assert ExperimentConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("text", ["model: 5\n", "model: [ease]\n", "model: ease\n"])
def test_a_model_section_that_is_no_mapping_is_named(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"bad\.yaml: model must be a mapping with a name"):
        load_experiment(path)


def test_set_model_to_a_scalar_is_named():
    with pytest.raises(ConfigError, match="model must be a mapping with a name"):
        load_experiment(overrides=["model=5"])


def test_set_of_a_tuned_field_removes_its_axis_and_says_so(caplog):
    path = config_path("ease-ml100k")
    with caplog.at_level(logging.INFO, logger="ssl4rec"):
        cfg = load_experiment(path, overrides=["model.l2_reg=500"])
    assert cfg.model.l2_reg == 500.0
    assert "l2_reg" not in cfg.tune
    assert "model.l2_reg is set explicitly" in caplog.text
    assert load_experiment(path).tune["l2_reg"]  # without --set the grid stays
    assert load_experiment(path, overrides=["tune={}"]).tune == {}


def test_a_data_path_clears_the_default_dataset_and_both_are_an_error(tmp_path):
    path = tmp_path / "csv.yaml"
    path.write_text(
        "data: {path: events.csv, format: csv}\nmodel: {name: pop}\n", encoding="utf-8"
    )
    cfg = load_experiment(path)
    assert cfg.data.dataset is None and cfg.data.path == "events.csv"
    path.write_text(
        "data: {dataset: ml-100k, path: events.csv}\nmodel: {name: pop}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"data\.dataset must be null when path is set"):
        load_experiment(path)


def test_a_data_section_read_alone_follows_the_same_rule():
    from ssl4rec.runner.experiment import DataConfig

    cfg = DataConfig.from_section({"path": "events.csv", "format": "csv"})
    assert cfg.dataset is None and cfg.path == "events.csv"
    assert DataConfig.from_section({"dataset": "ml-100k"}).dataset == "ml-100k"
    with pytest.raises(ConfigError, match=r"data\.dataset must be null when path is set"):
        DataConfig.from_section({"dataset": "ml-100k", "path": "events.csv"})
    with pytest.raises(ConfigError, match=r"suite\.data"):
        DataConfig.from_section({"path": "events.csv", "colums": {}}, where="suite.data")


def test_the_custom_csv_template_runs_on_a_file(tmp_path):
    import json

    import numpy as np

    from ssl4rec.runner import run_experiment

    rng = np.random.default_rng(0)
    rows = ["user_id,item_id,ts,rating"]
    for user in range(60):
        for step, item in enumerate(rng.choice(30, size=15, replace=False)):
            rows.append(f"u{user},i{item},{user * 100 + step},{rng.choice([3, 4, 5])}")
    csv = tmp_path / "events.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    template = config_path("ease-custom-csv")
    cfg = load_experiment(template, overrides=[f"data.path={csv}"])
    result = run_experiment(cfg, out_dir=tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["dataset"] == str(csv)
    assert 0.0 <= result.test.metrics["ndcg@10"] <= 1.0


def test_shipped_configs_resolve_by_name_and_a_file_wins(tmp_path, monkeypatch):
    assert len(CONFIGS) >= 13 and "ease-ml100k" in list_configs()
    assert config_path("ease-ml100k") == config_path("ease-ml100k.yaml")
    assert config_path("ease-ml100k").parent.name == "configs"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ease-ml100k").write_text("model: {name: pop}\n", encoding="utf-8")
    assert config_path("ease-ml100k") == Path("ease-ml100k")  # an existing file wins
    with pytest.raises(ConfigError, match=r"'ease-ml10k'.*did you mean 'ease-ml100k'"):
        config_path("ease-ml10k")


def test_an_optuna_tune_section_round_trips_and_a_set_field_leaves_its_params(tmp_path, caplog):
    path = tmp_path / "tuned.yaml"
    path.write_text(
        "model: {name: ease}\n"
        "tune: {search: optuna, trials: 5, params: {l2_reg: {low: 1.0, high: 1000.0, log: true}}}\n",
        encoding="utf-8",
    )
    cfg = load_experiment(path)
    assert ExperimentConfig.from_dict(cfg.to_dict()).tune == cfg.tune
    assert cfg.search().trials == 5
    with caplog.at_level(logging.INFO, logger="ssl4rec"):
        fixed = load_experiment(path, overrides=["model.l2_reg=50"])
    assert fixed.tune == {} and "model.l2_reg is set explicitly" in caplog.text
    with pytest.raises(ConfigError, match="tune.params: unknown field 'lambda'"):
        ExperimentConfig.from_dict(
            {"model": {"name": "ease"}, "tune": {"search": "optuna", "params": {"lambda": [1.0]}}}
        )
