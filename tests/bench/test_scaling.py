"""``ssl4rec bench scaling`` cells and report, and data-parallel suite cells (nproc)."""

from __future__ import annotations

import json

import pytest

from ssl4rec.bench import scaling
from ssl4rec.bench.runner import run_suite
from ssl4rec.bench.suite import load_suite
from ssl4rec.errors import ConfigError


@pytest.fixture()
def tiny_synth(monkeypatch):
    monkeypatch.setitem(scaling.DATASETS, "synth-2e3", {"synthetic": 2_000})
    monkeypatch.setitem(scaling.DATASETS, "synth-6e3", {"synthetic": 6_000})
    monkeypatch.setitem(
        scaling.MODELS,
        "multvae-sparse",
        {"name": "multvae", "sparse_input": True, "hidden_dims": [16], "embedding_dim": 8},
    )


def test_cells_measure_one_epoch_the_fit_or_the_load(tmp_path, tiny_synth):
    ingest = scaling.run_cell("synth-2e3", "ingest", tmp_path)
    assert ingest["status"] == "ok" and ingest["events"] == 2_000
    assert ingest["users"] <= 100 and ingest["items"] <= 20 and ingest["peak_mib"] > 0
    vae = scaling.run_cell("synth-2e3", "multvae-sparse", tmp_path)
    assert vae["status"] == "ok" and vae["seconds"] > 0
    ease = scaling.run_cell("synth-2e3", "ease", tmp_path)
    assert ease["status"] == "ok"


def test_report_fits_the_slope_and_lists_every_cell(tmp_path):
    records = [
        {
            "dataset": "synth-1e5",
            "model": "ease",
            "events": 10**5,
            "users": 1,
            "items": 1,
            "seconds": 1.0,
            "peak_mib": 10.0,
            "status": "ok",
        },
        {
            "dataset": "synth-1e6",
            "model": "ease",
            "events": 10**6,
            "users": 1,
            "items": 1,
            "seconds": 100.0,
            "peak_mib": 20.0,
            "status": "ok",
        },
        {
            "dataset": "ciao",
            "model": "ease",
            "status": "refused",
            "error": "EASE on 105,114 items needs about 288.3 GiB",
        },
        {
            "dataset": "synth-1e6",
            "model": "sasrec-full",
            "status": "timeout",
            "error": "not finished within 600 s",
        },
    ]
    report = scaling.write(records, tmp_path, "ssl4rec bench scaling", tmp_path / "doc.md")
    text = report.read_text()
    assert "| ease | 2.00 |" in text  # log10(100 / 1) / log10(1e6 / 1e5)
    assert "refused: EASE on 105,114 items" in text and "timeout" in text
    assert (tmp_path / "bench-scaling.png").is_file()
    assert "<!-- bench:scaling:start -->" in (tmp_path / "doc.md").read_text()
    assert json.loads((tmp_path / "results.json").read_text())["cells"][0]["seconds"] == 1.0


def test_a_suite_cell_runs_in_two_data_parallel_processes(make_suite, tmp_path):
    model = {"name": "multvae", "hidden_dims": [16], "embedding_dim": 8, "epochs": 2}
    suite = load_suite(make_suite([{"label": "vae-2", "model": model, "nproc": 2}]))
    assert suite.models[0].nproc == 2
    run = run_suite(suite, tmp_path / "out", command="ssl4rec bench tiny")
    record = json.loads((tmp_path / "out" / "results.json").read_text())["records"][0]
    assert run.ran == ["vae-2-s0"] and record["status"] == "ok", record.get("error")
    assert record["processes"] == 2 and record["epochs_run"] == 2


def test_nproc_must_be_a_positive_integer(make_suite):
    with pytest.raises(ConfigError, match="nproc must be a positive integer"):
        load_suite(make_suite([{"model": {"name": "pop"}, "nproc": 0}]))
