"""``ssl4rec bench compression`` on a tiny case: every variant measured, targets judged."""

from __future__ import annotations

import json

import pytest

from ssl4rec.bench import compression
from ssl4rec.testing.fakes import HashTextEncoder
from ssl4rec.testing.synthetic import TINY_SEQUENTIAL, cycle_data


@pytest.fixture()
def tiny_case(monkeypatch):
    import ssl4rec.runner
    import ssl4rec.text.sentence_transformers as st

    data = cycle_data(num_users=40, num_items=200, length=10)
    monkeypatch.setattr(ssl4rec.runner, "load_data", lambda config, home=None: data)
    monkeypatch.setattr(st, "SentenceTransformerEncoder", lambda name: HashTextEncoder(16))
    case = {
        "data": {"dataset": "ml-100k"},
        "split": {"protocol": "loo"},
        "model": {**TINY_SEQUENTIAL, "name": "sasrec", "item_repr": "id+text", "epochs": 2},
        "train": {"patience": None, "progress": False, "num_threads": 1},
        "methods": ["int8", "onnx"],
    }
    monkeypatch.setitem(compression.CASES, "tiny-sasrec", case)


@pytest.fixture()
def fake_load(monkeypatch):
    """The server load tests spawn processes; the last test here runs them for real."""

    def rounds(rows, variants, rounds=3):
        for row in rows:
            row.update(server_rr_p50_ms=1.0, server_rr_p99_ms=2.0, rps_rr=100.0)

    monkeypatch.setattr(compression, "_interleaved_server", rounds)


def test_every_variant_is_measured_and_targets_are_judged(tiny_case, fake_load, tmp_path):
    results = compression.run_compression_bench(tmp_path, cases=["tiny-sasrec"], seeds=[0])
    rows = {r["variant"]: r for r in results["rows"]}
    assert set(rows) == {"float", "int8", "onnx"}
    assert rows["int8"]["mb"] < rows["float"]["mb"] / 1.5
    assert rows["onnx"]["onnx"]["max_abs_diff"] < 1e-4
    assert rows["onnx"]["torch_graph_p50_ms"] > 0 and rows["onnx"]["onnx_graph_p50_ms"] > 0
    assert all(r["inproc_p50_ms"] > 0 and 0 <= r["ndcg@10"] <= 1 for r in rows.values())
    assert all(r["inproc_rr_p50_ms"] > 0 for r in rows.values())
    assert all(0 <= r["valid_ndcg@10"] <= 1 for r in rows.values())
    # resumable: nothing is made or measured again
    again = compression.run_compression_bench(tmp_path, cases=["tiny-sasrec"], seeds=[0])
    assert len(again["rows"]) == 3
    # a later run of another seed adds its rows and keeps the earlier ones
    more = compression.run_compression_bench(tmp_path, cases=["tiny-sasrec"], seeds=[1])
    assert sorted((r["seed"], r["variant"]) for r in more["rows"]) == [
        (s, v) for s in (0, 1) for v in ("float", "int8", "onnx")
    ]
    assert "seeds [0, 1]; mean ± std over seeds" in compression.render_markdown(more, "c")
    text = compression.render_markdown(results, "ssl4rec bench compression")
    assert "| int8 (Linear + embeddings): ≥ 3× smaller, NDCG@10 within 1% | int8 |" in text
    assert "ONNX Runtime: ≥ 1.5× lower p50" in text
    assert "ssl4rec bench compression" in text


def test_servers_are_load_tested_in_turn(tiny_case, tmp_path):
    from ssl4rec.compress import CompressConfig, compress_run
    from ssl4rec.runner import run_experiment
    from ssl4rec.runner.experiment import ExperimentConfig

    case = {k: v for k, v in compression.CASES["tiny-sasrec"].items() if k != "methods"}
    run_experiment(ExperimentConfig.from_dict(case), out_dir=tmp_path / "float")
    compress_run(tmp_path / "float", tmp_path / "onnx", CompressConfig(method="onnx"))
    rows = [{"variant": "float"}, {"variant": "onnx"}]
    variants = {"float": tmp_path / "float", "onnx": tmp_path / "onnx"}
    compression._interleaved_server(rows, variants, rounds=1)
    for row in rows:
        assert row["server_rr_p50_ms"] > 0 and row["rps_rr"] > 0 and row["server_rounds"] == 1


def _row(seed, variant, mb, ndcg, valid, top10):
    return {
        "case": "c",
        "seed": seed,
        "variant": variant,
        "mb": mb,
        "params": 100,
        "ndcg@10": ndcg,
        "valid_ndcg@10": valid,
        "inproc_p50_ms": 1.0,
        "inproc_p99_ms": 2.0,
        "server_p50_ms": 1.0,
        "server_p99_ms": 2.0,
        "rps": 10.0,
        "top10": top10,
    }


def test_report_takes_means_over_seeds_and_chooses_the_int8_variant_on_validation():
    top = [[1, 2, 3]]
    rows = []
    for seed, (f, a, b) in enumerate([(0.100, 0.097, 0.099), (0.110, 0.107, 0.110)]):
        rows += [
            _row(seed, "float", 4.0, f, 0.2, top),
            # int8: better on validation but 3% lower on test; weight-only: the reverse
            _row(seed, "int8", 1.0, a, 0.19, top),
            _row(seed, "int8-weight-only", 1.0, b, 0.18, top),
        ]
    text = compression.render_markdown({"rows": rows}, "cmd")
    assert "**c**, seeds [0, 1]; mean ± std over seeds." in text
    assert "| float | 2 | 4.000 ± 0.000 |" in text
    assert "0.1050 ± 0.0071" in text  # float test NDCG@10 over the two seeds
    target = next(line for line in text.splitlines() if line.startswith("| int8 (Linear"))
    # chosen on validation (int8, 0.19 > 0.18), even though weight-only is better on test
    assert "| int8 | not met |" in target and "met on 0 of 2 seeds" in target
    assert "int8 0.1900, int8-weight-only 0.1800" in target


def test_saving_keeps_the_rows_another_run_wrote_meanwhile(tmp_path):
    path = tmp_path / "results.json"
    a = {"rows": [{"case": "a", "seed": 0, "variant": "float", "x": 1}], "commands": ["ca"]}
    b = {"rows": [{"case": "b", "seed": 0, "variant": "float", "x": 2}], "commands": ["cb"]}
    compression.save_results(path, a)
    compression.save_results(path, b)  # b never read a's rows
    a["rows"][0]["x"] = 3
    compression.save_results(path, a)
    saved = json.loads(path.read_text())
    assert sorted((r["case"], r["x"]) for r in saved["rows"]) == [("a", 3), ("b", 2)]
    assert saved["commands"] == ["ca", "cb"]
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_a_case_overrides_the_bench_settings_of_prune_and_distill():
    spec = {"prune": {"time_budget_s": 60}, "distill": {"student_dim": 24}}
    student = compression._compress_config("distill", 1, spec)
    assert (student.student_dim, student.student_layers, student.seed) == (24, 1, 1)
    assert compression._compress_config("distill", 0).student_dim == 32
    pruned = compression._compress_config("prune-80", 0, spec)
    assert (pruned.sparsity, pruned.time_budget_s, pruned.finetune_epochs) == (0.8, 60, 10)
    amazon = compression.CASES["amazon-scientific-sasrec-text"]
    assert compression._compress_config("distill", 0, amazon).student_dim == 24
