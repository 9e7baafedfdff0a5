"""``ssl4rec bench compression`` on a tiny case: every variant measured, targets judged."""

from __future__ import annotations

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
    monkeypatch.setitem(compression.CASES, "tiny", case)
    # the server load test spawns processes; its own tests cover it
    monkeypatch.setattr(
        compression,
        "_loadtest",
        lambda model_dir, **kw: {"p50_ms": 1.0, "p99_ms": 2.0, "rps": 100.0, "failures": 0},
    )


def test_every_variant_is_measured_and_targets_are_judged(tiny_case, tmp_path):
    results = compression.run_compression_bench(tmp_path, cases=["tiny"], seeds=[0])
    rows = {r["variant"]: r for r in results["rows"]}
    assert set(rows) == {"float", "int8", "onnx"}
    assert rows["int8"]["mb"] < rows["float"]["mb"] / 1.5
    assert rows["onnx"]["onnx"]["max_abs_diff"] < 1e-4
    assert rows["onnx"]["torch_graph_p50_ms"] > 0 and rows["onnx"]["onnx_graph_p50_ms"] > 0
    assert all(r["inproc_p50_ms"] > 0 and 0 <= r["ndcg@10"] <= 1 for r in rows.values())
    assert all(r["inproc_rr_p50_ms"] > 0 for r in rows.values())
    # resumable: nothing is made or measured again
    again = compression.run_compression_bench(tmp_path, cases=["tiny"], seeds=[0])
    assert len(again["rows"]) == 3
    text = compression.render_markdown(results, "ssl4rec bench compression")
    assert "| int8 (Linear + embeddings): ≥ 3× smaller, NDCG@10 within 1% | int8 |" in text
    assert "ONNX Runtime: ≥ 1.5× lower p50" in text
    assert "ssl4rec bench compression" in text
