"""The memory-bounded events path (lazy scan, streaming collect) and the synthetic logs."""

from __future__ import annotations

import numpy as np
import polars as pl

import pytest

from ssl4rec.data.interactions import Interactions
from ssl4rec.data.sources import stream
from ssl4rec.data.sources.tabular import load_tabular
from ssl4rec.data.synth import synthesize, write_synthetic
from ssl4rec.errors import ConfigError, DataError


def frame(n=500, seed=0):
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "uid": [f"u{x}" for x in rng.integers(0, 40, n)],
            "iid": [f"item-{x}" for x in rng.integers(0, 70, n)],
            "stars": rng.integers(1, 6, n).astype(float),
            "ts": rng.integers(0, 10**9, n),
        }
    )


def assert_same(a: Interactions, b: Interactions) -> None:
    for attr in ("users", "items", "weights", "timestamps"):
        np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr))
    assert a.user_vocab == b.user_vocab and a.item_vocab == b.item_vocab


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_scanned_events_equal_the_eager_frame_path(tmp_path, suffix, monkeypatch):
    events = frame()
    path = tmp_path / f"events{suffix}"
    if suffix == ".parquet":
        events.write_parquet(path)
    else:
        events.write_csv(path, separator="\t" if suffix == ".tsv" else ",")
    calls = []
    real = stream.scan_events
    monkeypatch.setattr(
        "ssl4rec.data.sources.tabular.scan_events",
        lambda *a, **k: calls.append(1) or real(*a, **k),
    )
    cols = {"user_col": "uid", "item_col": "iid", "weight_col": "stars", "time_col": "ts"}
    scanned = load_tabular(path, **cols)
    assert calls  # the scan path read it
    eager = Interactions.from_frame(events, **cols)
    assert_same(scanned, eager)
    assert scanned.weights.dtype == np.float32 and scanned.timestamps.dtype == np.int64


def test_bad_values_fall_back_to_the_line_by_line_reader(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("uid,iid,stars\nu1,i1,5\nu2,i2,five\n")
    with pytest.raises(DataError, match=r"stars.*line 3|line 3.*stars|'five'"):
        load_tabular(path, user_col="uid", item_col="iid", weight_col="stars")
    with pytest.raises(stream.ScanUnsupported):
        stream.scan_events(path, user_col="uid", item_col="iid", weight_col="stars")
    with pytest.raises(DataError, match="'user'"):
        load_tabular(path, user_col="user", item_col="iid")


def test_synthetic_logs_are_seeded_and_heavy_tailed(tmp_path):
    a = synthesize(1000, 5000, 50_000, seed=3, chunk=7_000)
    b = synthesize(1000, 5000, 50_000, seed=3)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)  # chunking does not change the draws
    assert not np.array_equal(a[1], synthesize(1000, 5000, 50_000, seed=4)[1])
    counts = np.sort(np.bincount(a[1], minlength=5000))[::-1]
    assert counts[:50].sum() / counts.sum() > 0.3  # the top 1 % of items: a third of events
    assert a[0].max() < 1000 and a[1].max() < 5000 and np.all(np.diff(a[2]) == 1)
    path = write_synthetic(tmp_path / "s.parquet", 100, 200, 3000, seed=1)
    data = load_tabular(path, user_col="user_id", item_col="item_id", time_col="timestamp")
    assert len(data) == 3000 and data.num_items <= 200
    with pytest.raises(ConfigError, match="events"):
        synthesize(10, 10, 0)
