import polars as pl

import pytest

from ssl4rec.data.interactions import Interactions
from ssl4rec.data.preprocess import (
    PreprocessConfig,
    dedupe,
    implicit,
    k_core,
    min_history,
    preprocess,
)
from ssl4rec.errors import ConfigError


def _data(rows) -> Interactions:
    users, items, ratings, times = map(list, zip(*rows, strict=True))
    frame = pl.DataFrame({"user_id": users, "item_id": items, "rating": ratings, "timestamp": times})
    return Interactions.from_frame(frame, weight_col="rating", time_col="timestamp")


def test_dedupe_keeps_latest_event():
    data = _data([(1, 1, 2.0, 10), (1, 1, 5.0, 20), (1, 2, 3.0, 5), (1, 1, 4.0, 15)])
    out = dedupe(data)
    assert len(out) == 2
    kept = {(int(i), float(w)) for i, w in zip(out.item_vocab.raw(out.items), out.weights, strict=True)}
    assert kept == {(1, 5.0), (2, 3.0)}


def test_dedupe_tie_keeps_later_row():
    data = _data([(1, 1, 2.0, 10), (1, 1, 4.0, 10)])
    assert dedupe(data).weights.tolist() == [4.0]


def test_implicit_threshold_and_weights():
    data = _data([(1, 1, 2.0, 1), (1, 2, 4.0, 2), (2, 1, 5.0, 3)])
    out = implicit(data, threshold=4.0)
    assert len(out) == 2 and out.weights.tolist() == [1.0, 1.0]
    assert out.user_vocab.to_list() == ["1", "2"]


def test_k_core_is_iterative():
    # item 3 has one event; dropping it leaves user 2 with one event, which then goes too
    rows = [(1, 1, 1, 1), (1, 2, 1, 2), (2, 2, 1, 3), (2, 3, 1, 4), (3, 1, 1, 5), (3, 2, 1, 6)]
    out = k_core(_data(rows), user_k=2, item_k=2)
    assert sorted(out.user_vocab.to_list()) == ["1", "3"]
    assert sorted(out.item_vocab.to_list()) == ["1", "2"]
    assert len(out) == 4


def test_min_history_and_pipeline():
    rows = [(1, 1, 5, 1), (1, 2, 5, 2), (1, 3, 5, 3), (2, 1, 5, 4)]
    assert min_history(_data(rows), min_events=2).user_vocab.to_list() == ["1"]
    out = preprocess(_data(rows), PreprocessConfig(min_history=3))
    assert len(out) == 3


def test_config_rejects_negative_k():
    with pytest.raises(ConfigError, match=r"PreprocessConfig.user_k must be ≥ 0; got -1"):
        PreprocessConfig(user_k=-1)


def test_exact_duplicates_are_counted_and_warned_about_when_dedupe_is_off(caplog):
    import logging

    from ssl4rec.data.preprocess import PreprocessConfig, count_exact_duplicates, preprocess

    rows = [
        ("u1", "a", 5.0, 1),
        ("u1", "a", 4.0, 1),
        ("u1", "a", 5.0, 2),
        ("u2", "a", 5.0, 1),
        ("u1", "a", 3.0, 1),
    ]
    data = _data(rows)
    assert count_exact_duplicates(data) == 2  # the same user, item and time again
    with caplog.at_level(logging.WARNING, logger="ssl4rec"):
        out = preprocess(data, PreprocessConfig(dedupe=False))
    assert len(out) == 5
    assert "2 events repeat an earlier (user, item, timestamp)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ssl4rec"):
        preprocess(data, PreprocessConfig(dedupe=True))
    assert "repeat an earlier" not in caplog.text
