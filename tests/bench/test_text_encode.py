"""The item-text encoding benchmark: cold encode, cached rerun, one changed title."""

from __future__ import annotations

from ssl4rec.bench import text_encode
from ssl4rec.testing.fakes import HashTextEncoder
from ssl4rec.testing.synthetic import cycle_data


def test_encode_cache_and_one_change(monkeypatch, tmp_path):
    import ssl4rec.text.sentence_transformers as st

    monkeypatch.setattr(st, "SentenceTransformerEncoder", lambda name: HashTextEncoder(8))
    record = text_encode.run_text_encode(cycle_data(num_items=20), dataset="cycle")
    assert record["items"] == 20 and record["dim"] == 8 and record["encoder"] == "hash-8"
    assert record["encoded"] == 20  # empty cache: every text
    assert record["cached_encoded"] == 0  # second call: none
    assert record["changed_encoded"] == 1  # one title changed: that one only
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n", encoding="utf-8")
    report = text_encode.write(record, tmp_path / "out", "ssl4rec bench text-encode", docs)
    text = docs.read_text(encoding="utf-8")
    assert "| encode every item (empty cache) |" in text and "| 20 |" in text
    assert "`ssl4rec bench text-encode`" in report.read_text(encoding="utf-8")
