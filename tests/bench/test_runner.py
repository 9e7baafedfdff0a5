"""The suite runner: one process per cell, results.json, resume, failed cells."""

from __future__ import annotations

import json

import pytest

from ssl4rec.bench.runner import run_suite
from ssl4rec.bench.suite import load_suite

_FIELDS = {
    "model",
    "seed",
    "dataset",
    "protocol",
    "metrics",
    "wall_s",
    "seconds_per_epoch",
    "time_to_best_s",
    "eval_s",
    "peak_rss_mb",
    "status",
}


def test_run_resume_and_failed_cell(make_suite, tmp_path):
    models = [
        {"model": {"name": "pop"}},
        {"label": "ease-timeout", "model": {"name": "ease"}, "timeout_s": 0.01},
        {"model": {"name": "ease", "l2_reg": 10.0}},
    ]
    suite = load_suite(make_suite(models))
    out = tmp_path / "out"
    first = run_suite(suite, out, command="ssl4rec bench tiny")
    assert first.ran == ["pop-s0", "ease-timeout-s0", "ease-s0"]
    results = json.loads((out / "results.json").read_text())
    records = {r["cell"]: r for r in results["records"]}
    assert set(records) == {"pop-s0", "ease-timeout-s0", "ease-s0"}
    ok = records["ease-s0"]
    assert ok["status"] == "ok" and _FIELDS <= set(ok)
    assert ok["protocol"] == "temporal_ratio" and ok["metrics"]["ndcg@5"] > 0
    assert ok["peak_rss_mb"] > 0 and ok["split_hash"] == records["pop-s0"]["split_hash"]
    assert (out / "cells" / "ease-s0" / "per_user.npz").is_file()
    failed = records["ease-timeout-s0"]
    assert failed["status"] == "failed" and "timeout" in failed["error"]
    assert first.failed == ["ease-timeout-s0"]

    again = run_suite(suite, out)  # resume: nothing is redone
    assert again.ran == [] and len(again.skipped) == 3
    assert json.loads((out / "results.json").read_text())["commands"] == ["ssl4rec bench tiny"]


def test_peer_cells_honour_a_seed_subset(make_suite):
    from ssl4rec.bench.runner import _peer_cells
    from ssl4rec.bench.suite import load_suite
    from ssl4rec.errors import ConfigError

    models = [
        {"model": {"name": "pop"}, "peers": {"recbole": {"model": "Pop", "seeds": [0]}}},
        {"model": {"name": "ease"}, "peers": {"recbole": {"model": "EASE"}}},
    ]
    suite = load_suite(make_suite(models, seeds=[0, 1, 2]))
    cells = [(entry.label, seed) for _, entry, seed in _peer_cells(suite, ["recbole"])]
    assert cells == [("pop", 0), ("ease", 0), ("ease", 1), ("ease", 2)]
    models[0]["peers"]["recbole"]["seeds"] = "0"
    with pytest.raises(ConfigError, match="pop: peers.recbole.seeds must be a list"):
        _peer_cells(load_suite(make_suite(models)), ["recbole"])


def test_peer_hash_ignores_our_model_hyperparameters_it_does_not_read(make_suite):
    from ssl4rec.bench.runner import peer_inputs
    from ssl4rec.bench.suite import config_hash

    def peer_hash(model):
        suite = load_suite(make_suite([{"model": model}]))
        return config_hash(peer_inputs(suite.experiment_dict(suite.models[0], 0)))

    base = {"name": "sasrec", "max_seq_len": 50, "batch_size": 128}
    assert peer_hash(base) == peer_hash({**base, "batch_size": 32, "dropout": 0.5})
    assert peer_hash(base) != peer_hash({**base, "max_seq_len": 20})  # the peer reads it
    assert peer_hash(base) != peer_hash({**base, "epochs": 5})
