"""The report: bold best per column, significance, plots, marked docs sections."""

from __future__ import annotations

import json

import numpy as np

import pytest

from ssl4rec.bench.report import aggregate, render_markdown, update_doc, write_report
from ssl4rec.bench.suite import load_suite
from ssl4rec.errors import ConfigError


def _fake_results(out, models, users=40):
    rng = np.random.default_rng(0)
    records = []
    for label, level, fit in models:
        for seed in (0, 1):
            cell = f"{label}-s{seed}"
            values = np.clip(level + 0.05 * rng.standard_normal(users), 0, 1)
            folder = out / "cells" / cell
            folder.mkdir(parents=True)
            np.savez(folder / "per_user.npz", users=np.arange(users), **{"m:ndcg@5": values})
            records.append(
                {
                    "suite": "tiny",
                    "cell": cell,
                    "side": "ssl4rec",
                    "model": label,
                    "seed": seed,
                    "dataset": "events.csv",
                    "protocol": "temporal_ratio",
                    "status": "ok",
                    "exclude_seen": True,
                    "split_hash": "abc",
                    "metrics": {
                        "ndcg@5": float(values.mean()),
                        "recall@5": level / 2,
                        "coverage@5": 0.5,
                        "novelty@5": 2.0,
                    },
                    "fit_s": fit,
                    "seconds_per_epoch": None,
                    "time_to_best_s": fit,
                    "eval_s": 0.1,
                    "peak_rss_mb": 300.0 + fit,
                }
            )
    records.append(
        {
            "suite": "tiny",
            "cell": "recbole-ease-s0",
            "side": "recbole",
            "model": "ease",
            "seed": 0,
            "status": "ok",
            "exclude_seen": True,
            "split_hash": "abc",
            "metrics": {"ndcg@5": 0.3, "recall@5": 0.1},
            "fit_s": 4.0,
            "time_to_best_s": 4.0,
            "eval_s": 0.2,
            "peak_rss_mb": 600.0,
        }
    )
    records.append(
        {
            "suite": "tiny",
            "cell": "pop-s9",
            "side": "ssl4rec",
            "model": "pop",
            "seed": 9,
            "status": "failed",
            "error": "RuntimeError: boom",
        }
    )
    (out / "results.json").write_text(
        json.dumps(
            {
                "suite": "tiny",
                "commands": ["ssl4rec bench tiny --seeds 2"],
                "records": records,
                "host": {"cpu_count": 2, "torch": "2.13.0"},
            }
        )
    )
    return records


def test_render_bold_best_significance_and_ratios(make_suite, tmp_path):
    suite = load_suite(make_suite())
    out = tmp_path / "out"
    _fake_results(out, [("pop", 0.1, 0.01), ("ease", 0.4, 2.0)])
    results = json.loads((out / "results.json").read_text())
    text = render_markdown(suite, results, out)
    ease_row = next(line for line in text.splitlines() if line.startswith("| ease |"))
    pop_row = next(line for line in text.splitlines() if line.startswith("| pop |"))
    assert ease_row.split("|")[3].strip().startswith("**")  # best ndcg@5
    assert pop_row.split("|")[5].strip().startswith("**")  # fastest fit
    assert "Significance (ndcg@5" in text and "**ease** vs runner-up pop" in text
    assert "| ease | recbole |" in text  # ratio table ours / RecBole
    assert "pop failed: seed 9: RuntimeError: boom" in text
    assert "`ssl4rec bench tiny --seeds 2`" in text
    rows = aggregate(results["records"], suite)
    assert [r.name for r in rows] == ["pop", "ease", "ease (recbole)"]


def test_paired_names_the_rows_the_significance_test_compares(make_suite, tmp_path):
    report = {"primary": "ndcg@5", "columns": ["ndcg@5"], "paired": ["pop", "knn"]}
    models = [
        {"model": {"name": "pop"}},
        {"label": "knn", "model": {"name": "itemknn"}},
        {"model": {"name": "ease", "l2_reg": 10.0}},
    ]
    suite = load_suite(make_suite(models, report=report))
    assert suite.paired == ("pop", "knn")
    out = tmp_path / "out"
    _fake_results(out, [("pop", 0.1, 0.01), ("knn", 0.3, 1.0), ("ease", 0.4, 2.0)])
    text = render_markdown(suite, json.loads((out / "results.json").read_text()), out)
    assert "**knn** vs baseline pop" in text  # not the best (ease) against the runner-up
    with pytest.raises(ConfigError, match=r"report.paired must name two model labels"):
        load_suite(make_suite(models, report={**report, "paired": ["pop", "nope"]}))


def test_write_report_replaces_marked_section_only(make_suite, tmp_path):
    suite = load_suite(make_suite())
    out = tmp_path / "out"
    _fake_results(out, [("pop", 0.1, 0.01), ("ease", 0.4, 2.0)])
    docs = tmp_path / "docs" / "benchmarks.md"
    docs.parent.mkdir()
    docs.write_text(
        "# Benchmarks\n\nIntro kept.\n\n<!-- bench:tiny:start -->\nold table\n"
        "<!-- bench:tiny:end -->\n\nOutro kept.\n"
    )
    report = write_report(suite, out, docs=docs)
    text = docs.read_text()
    assert "Intro kept." in text and "Outro kept." in text and "old table" not in text
    assert text.count("<!-- bench:tiny:start -->") == 1 and "| ease |" in text
    assert (docs.parent / "bench-tiny-metrics.png").is_file()
    assert (docs.parent / "bench-tiny-tradeoff.png").is_file()
    assert (docs.parent / "bench-tiny-beyond.png").is_file()
    assert "bench-tiny-metrics.png" in text and report.is_file()


def test_update_doc_appends_missing_section(tmp_path):
    doc = tmp_path / "b.md"
    doc.write_text("# B\n")
    assert update_doc(doc, "s", "body one") is False
    assert update_doc(doc, "s", "body two") is True
    text = doc.read_text()
    assert "body two" in text and "body one" not in text and text.startswith("# B")


def test_views_get_their_own_tables_and_ratios_use_the_peer_convention(make_suite, tmp_path):
    suite = load_suite(make_suite())
    out = tmp_path / "out"
    records = _fake_results(out, [("ease", 0.4, 2.0)])
    for rec in records:
        if rec["side"] == "ssl4rec" and rec["status"] == "ok":
            rec["views"] = {
                "exclude_seen=true": dict(rec["metrics"]),
                "exclude_seen=false": {**rec["metrics"], "ndcg@5": 0.2},
                "cold": {"ndcg@5": 0.05, "recall@5": 0.1},
            }
        if rec["side"] == "recbole":
            rec["exclude_seen"] = False  # as RecBole's sequential models
    results = {"records": records, "commands": ["x"], "host": {}}
    text = render_markdown(suite, results, out)
    off = text.split("Same models, exclude_seen off")[1].split("\n\n", 2)[1]
    assert "| ease |" in off and "| ease (recbole) [exclude_seen off] |" in off
    assert "**0.3000 ± 0.0000**" in off  # RecBole's 0.3 beats our 0.2 in that view
    cold = text.split("Cold-start targets")[1].split("\n\n", 2)[1]
    assert "| ease | 2 | **0.0500 ± 0.0000** |" in cold and "recbole" not in cold
    assert "fit s" not in cold  # metric columns only
    assert "0.67 (0.2 / 0.3) (both exclude_seen=false)" in text  # ratio on the same convention
    (out / "results.json").write_text(json.dumps(results))
    write_report(suite, out)
    assert (out / "plots" / "bench-tiny-subsets.png").is_file()  # cold targets get a plot
    assert "bench-tiny-subsets.png" in (out / "report.md").read_text()
