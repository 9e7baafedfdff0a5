"""Grid search selects on validation only."""

from __future__ import annotations

import importlib.util
import logging

import numpy as np

import pytest

from ssl4rec.data.interactions import IdVocab, Interactions
from ssl4rec.data.splits import Split, temporal_ratio_split
from ssl4rec.errors import ConfigError
from ssl4rec.evaluation import evaluate
from ssl4rec.models.ease import EASE
from ssl4rec.runner.tuning import OptunaSearch, grid_search, optuna_search, parse_tune


@pytest.fixture(scope="module")
def split() -> Split:
    """Users draw items from one of three overlapping popularity-skewed clusters."""
    rng = np.random.default_rng(0)
    num_users, num_items = 120, 60
    users, items = [], []
    for u in range(num_users):
        center = (u % 3) * 20
        weights = np.exp(-0.5 * ((np.arange(num_items) - center - 10) / 8.0) ** 2)
        chosen = rng.choice(num_items, size=15, replace=False, p=weights / weights.sum())
        users.extend([u] * len(chosen))
        items.extend(chosen.tolist())
    data = Interactions(
        users=np.asarray(users),
        items=np.asarray(items),
        weights=np.ones(len(users)),
        timestamps=rng.permutation(len(users)),
        user_vocab=IdVocab(range(num_users), name="user"),
        item_vocab=IdVocab(range(num_items), name="item"),
    )
    return temporal_ratio_split(data)


def test_grid_search_picks_best_validation_lambda(split: Split, caplog) -> None:
    grid = {"l2_reg": [0.1, 10.0, 100.0, 10000.0]}
    with caplog.at_level(logging.INFO, logger="ssl4rec.runner.tuning"):
        best, table = grid_search(lambda p: EASE(**p), grid, split, metric="ndcg@10")
    # the choice must be the argmax of validation NDCG computed independently
    valid = [
        evaluate(EASE(l2_reg=lam).fit(split.train), split, part="valid").metrics["ndcg@10"]
        for lam in grid["l2_reg"]
    ]
    assert best == {"l2_reg": grid["l2_reg"][int(np.argmax(valid))]}
    assert [row["ndcg@10"] for row in table] == pytest.approx(valid)
    assert [row["l2_reg"] for row in table] == grid["l2_reg"]
    assert len(set(valid)) > 1  # the grid actually matters on this data
    assert sum("trial done" in r.message for r in caplog.records) == 4


def test_grid_search_never_reads_test(split: Split) -> None:
    # a split whose test part is empty still tunes: only train and valid are read
    empty_test = Split(
        train=split.train, valid=split.valid, test=split.test.select(np.array([], dtype=np.int64))
    )
    best, table = grid_search(lambda p: EASE(**p), {"l2_reg": [1.0, 50.0]}, empty_test)
    assert "l2_reg" in best and len(table) == 2


def test_grid_search_validates_inputs(split: Split) -> None:
    with pytest.raises(ConfigError, match="grid must name at least one parameter"):
        grid_search(lambda p: EASE(**p), {}, split)
    with pytest.raises(ConfigError, match=r"grid\['l2_reg'\] must be a non-empty list"):
        grid_search(lambda p: EASE(**p), {"l2_reg": []}, split)
    with pytest.raises(ConfigError, match="did you mean 'ndcg'"):
        grid_search(lambda p: EASE(**p), {"l2_reg": [1.0]}, split, metric="ndgc@10")


# ---------------------------------------------------------------------------- optuna
needs_optuna = pytest.mark.skipif(
    importlib.util.find_spec("optuna") is None, reason="optuna is not installed"
)

FIELDS = {"l2_reg", "learning_rate", "dropout", "epochs"}


@needs_optuna
def test_an_optuna_search_picks_its_best_validation_trial_and_repeats_with_its_seed(
    split: Split,
) -> None:
    search = parse_tune(
        {"search": "optuna", "trials": 6, "seed": 3, "params": {"l2_reg": {"low": 0.1, "high": 1e4, "log": True}}},
        FIELDS,
    )
    assert isinstance(search, OptunaSearch)
    best, table = optuna_search(lambda p: EASE(**p), search, split, metric="ndcg@10")
    assert len(table) == 6 and all(row["state"] == "complete" for row in table)
    assert all(0.1 <= row["l2_reg"] <= 1e4 for row in table)
    top = max(table, key=lambda row: row["ndcg@10"])
    assert best == {"l2_reg": top["l2_reg"]}
    # each row's value is the model's own validation score (test is never read)
    again = evaluate(EASE(l2_reg=best["l2_reg"]).fit(split.train), split, part="valid")
    assert again.metrics["ndcg@10"] == pytest.approx(top["ndcg@10"])
    assert len({row["ndcg@10"] for row in table}) > 1
    _, repeat = optuna_search(lambda p: EASE(**p), search, split, metric="ndcg@10")
    assert [row["l2_reg"] for row in repeat] == [row["l2_reg"] for row in table]


@needs_optuna
def test_the_median_pruner_stops_trials_that_fall_behind(split: Split) -> None:
    from ssl4rec.models.mult_vae import MultVAE
    from ssl4rec.training.trainer import TrainConfig

    search = parse_tune(
        {
            "search": "optuna",
            "trials": 8,
            "seed": 0,
            "startup_trials": 1,
            "warmup_epochs": 0,
            "params": {"learning_rate": [0.01, 1e-7]},
        },
        FIELDS,
    )
    config = {"hidden_dims": (16,), "embedding_dim": 8, "batch_size": 32, "epochs": 4, "seed": 0}
    best, table = optuna_search(
        lambda p: MultVAE(**config, **p),
        search,
        split,
        fit_kwargs={"train_config": TrainConfig(progress=False, num_threads=1)},
    )
    pruned = [row for row in table if row["state"] == "pruned"]
    assert pruned and all(row["learning_rate"] == 1e-7 and row["ndcg@10"] is None for row in pruned)
    assert all(row["epochs"] < 4 for row in pruned)
    assert best == {"learning_rate": 0.01}


@pytest.mark.parametrize(
    ("tune", "expected"),
    [
        ({"search": "random"}, "tune.search must be 'grid' or 'optuna'"),
        ({"search": "optuna", "trails": 3, "params": {"l2_reg": [1.0]}}, "unknown key 'trails'.*did you mean 'trials'"),
        ({"search": "optuna", "params": {}}, "tune.params must map model fields"),
        ({"search": "optuna", "params": {"lambda": [1.0]}}, "tune.params: unknown field 'lambda'"),
        ({"search": "optuna", "params": {"l2_reg": {"low": 5, "high": 1}}}, "low must be < high"),
        ({"search": "optuna", "params": {"l2_reg": {"low": 0, "high": 1, "log": True}}}, "log range needs low > 0"),
        ({"search": "optuna", "params": {"l2_reg": {"low": 1}}}, r"tune.params.l2_reg.high must be a number"),
        ({"search": "optuna", "trials": 0, "params": {"l2_reg": [1.0]}}, "tune.trials must be an integer ≥ 1"),
        ({"search": "optuna", "budget_s": -1, "params": {"l2_reg": [1.0]}}, "tune.budget_s must be"),
        ({"l2_reg": []}, "tune.l2_reg must be a non-empty list"),
    ],
)
def test_bad_tune_sections_name_the_key(tune: dict, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        parse_tune(tune, FIELDS)
