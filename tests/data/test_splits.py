import numpy as np
import polars as pl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssl4rec.data.interactions import Interactions
from ssl4rec.data.splits import (
    global_time_split,
    leave_one_out,
    make_split,
    random_split,
    temporal_ratio_split,
)
from ssl4rec.errors import ConfigError


def _data(users, items, times) -> Interactions:
    frame = pl.DataFrame({"user_id": users, "item_id": items, "timestamp": times})
    return Interactions.from_frame(frame, time_col="timestamp")


events = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 15), st.integers(0, 5)), min_size=1, max_size=120
)


def _key(part: Interactions) -> list[tuple[int, int, int]]:
    return sorted(zip(part.users.tolist(), part.items.tolist(), part.timestamps.tolist(), strict=True))


@settings(max_examples=60, deadline=None)
@given(events)
def test_splits_partition_events(rows):
    data = _data(*map(list, zip(*rows, strict=True)))
    for split in (leave_one_out(data), temporal_ratio_split(data), random_split(data, seed=3)):
        assert len(split.train) + len(split.valid) + len(split.test) == len(data)
        assert _key(split.train.concat(split.valid, split.test)) == _key(data)


@settings(max_examples=60, deadline=None)
@given(events)
def test_loo_takes_last_two_events_per_user_in_time_order(rows):
    data = _data(*map(list, zip(*rows, strict=True)))
    split = leave_one_out(data)
    for u in range(data.num_users):
        seq_times = np.sort(data.timestamps[data.users == u], kind="stable")
        n = len(seq_times)
        test_t = split.test.timestamps[split.test.users == u]
        valid_t = split.valid.timestamps[split.valid.users == u]
        train_t = split.train.timestamps[split.train.users == u]
        if n < 3:
            assert len(test_t) == 0 and len(valid_t) == 0
            continue
        assert len(test_t) == 1 and len(valid_t) == 1
        # no leakage: nothing in train is later than valid, nothing in valid later than test
        assert train_t.max() <= valid_t[0] <= test_t[0]


@settings(max_examples=60, deadline=None)
@given(events)
def test_temporal_ratio_counts_follow_recbole_arithmetic(rows):
    data = _data(*map(list, zip(*rows, strict=True)))
    split = temporal_ratio_split(data)
    for u in range(data.num_users):
        n = int((data.users == u).sum())
        valid = int(0.1 * n)
        test = int(0.1 * n)
        train = n - valid - test
        for ratio_share, which in ((0.1 * n, "test"), (0.1 * n, "valid")):
            if 0 < ratio_share < 1 and train > 1:
                train -= 1
                if which == "test":
                    test += 1
                else:
                    valid += 1
        assert int((split.train.users == u).sum()) == train
        assert int((split.valid.users == u).sum()) == valid
        assert int((split.test.users == u).sum()) == test


def test_temporal_ratio_ties_keep_file_order():
    # one user, 20 events all at the same time: file order decides valid (2) and test (2)
    data = _data([1] * 20, list(range(20)), [7] * 20)
    split = temporal_ratio_split(data)
    assert data.item_vocab.raw(split.valid.items).tolist() == ["16", "17"]
    assert data.item_vocab.raw(split.test.items).tolist() == ["18", "19"]


def test_temporal_ratio_small_user_still_gets_valid_and_test():
    data = _data([1] * 5, [1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    split = temporal_ratio_split(data)
    assert (len(split.train), len(split.valid), len(split.test)) == (3, 1, 1)


def test_seen_before_masks_earlier_parts():
    data = _data([1] * 4, [1, 2, 3, 4], [1, 2, 3, 4])
    split = leave_one_out(data)
    assert split.seen_before("valid").toarray().tolist() == [[1, 1, 0, 0]]
    assert split.seen_before("test").toarray().tolist() == [[1, 1, 1, 0]]


def test_global_time_and_random_are_seeded():
    data = _data([1, 1, 2, 2, 3], [1, 2, 3, 4, 5], [1, 5, 9, 10, 12])
    split = global_time_split(data, valid_start=6, test_start=10)
    assert (len(split.train), len(split.valid), len(split.test)) == (2, 1, 2)
    a, b = random_split(data, seed=1), random_split(data, seed=1)
    assert _key(a.test) == _key(b.test)


def test_bad_protocol_and_ratios_name_what_was_expected():
    data = _data([1, 1, 1], [1, 2, 3], [1, 2, 3])
    with pytest.raises(ConfigError, match="split protocol must be one of"):
        make_split(data, "holdout")
    with pytest.raises(ConfigError, match="summing to 1"):
        temporal_ratio_split(data, ratios=(0.5, 0.1, 0.1))
    with pytest.raises(ConfigError, match="valid_start must be ≤ test_start"):
        global_time_split(data, valid_start=5, test_start=1)
