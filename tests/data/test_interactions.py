import numpy as np
import polars as pl

import pytest

from ssl4rec.data.interactions import IdVocab, Interactions
from ssl4rec.errors import DataError, UnknownIdError


def _frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "u": [1, 2, 1, 3, 1],
            "i": ["a", "b", "b", "a", "c"],
            "r": [5.0, 3.0, 4.0, 1.0, 2.0],
            "t": [5, 3, 5, 1, 2],
        }
    )


def test_from_frame_builds_vocab_in_order_of_appearance():
    data = Interactions.from_frame(_frame(), user_col="u", item_col="i", weight_col="r", time_col="t")
    assert data.user_vocab.to_list() == ["1", "2", "3"]
    assert data.item_vocab.to_list() == ["a", "b", "c"]
    assert data.users.tolist() == [0, 1, 0, 2, 0]
    assert data.items.tolist() == [0, 1, 1, 0, 2]
    assert data.weights.dtype == np.float32 and data.timestamps.dtype == np.int64
    assert (len(data), data.num_users, data.num_items) == (5, 3, 3)


def test_sequences_are_stable_time_order():
    data = Interactions.from_frame(_frame(), user_col="u", item_col="i", time_col="t")
    # user 1: (a, t=5), (b, t=5), (c, t=2) -> c first; a before b keeps file order
    assert data.sequences()[0].tolist() == [2, 0, 1]
    assert data.sequences()[1].tolist() == [1]


def test_csr_is_binary_and_arrays_read_only():
    frame = pl.DataFrame({"user_id": [1, 1, 2], "item_id": [7, 7, 8], "w": [2.0, 3.0, 1.0]})
    data = Interactions.from_frame(frame, weight_col="w")
    assert data.csr().toarray().tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert data.csr(binary=False).toarray().tolist() == [[5.0, 0.0], [0.0, 1.0]]
    with pytest.raises(ValueError):
        data.users[0] = 3


def test_item_table_aligned_to_vocab_and_missing_titles_fall_back_to_id():
    table = pl.DataFrame({"item_id": ["c", "a"], "title": ["Cee", "Ay"]})
    data = Interactions.from_frame(_frame(), user_col="u", item_col="i", item_table=table)
    assert data.item_table["item_id"].to_list() == ["a", "b", "c"]
    assert data.item_titles() == ["Ay", "b", "Cee"]


def test_missing_column_names_available_columns():
    with pytest.raises(DataError, match=r"ratings.csv: column 'item_id' not found; available columns: \['u', 'i'"):
        Interactions.from_frame(_frame(), user_col="u", source="ratings.csv")


def test_non_numeric_timestamp_names_row():
    frame = pl.DataFrame({"user_id": [1, 2], "item_id": [1, 2], "ts": ["10", "soon"]})
    with pytest.raises(DataError, match=r"column 'ts' must be numeric; got 'soon' at row 2"):
        Interactions.from_frame(frame, time_col="ts")


def test_empty_input_is_an_error():
    frame = pl.DataFrame({"user_id": [], "item_id": []})
    with pytest.raises(DataError, match="no interactions"):
        Interactions.from_frame(frame)


def test_vocab_lookup_and_unknown_id():
    vocab = IdVocab([10, 20, 30], name="user")
    assert vocab.index("20") == 1 and vocab.index(20) == 1
    assert vocab.indices([30, 10]).tolist() == [2, 0]
    assert vocab.raw([1]).tolist() == ["20"]
    with pytest.raises(UnknownIdError, match="unknown user id 99"):
        vocab.index(99)
    with pytest.raises(DataError, match="duplicate id '1'"):
        IdVocab([1, 1])


def test_select_reindexed_concat_and_save_load(tmp_path):
    table = pl.DataFrame({"item_id": ["a", "b", "c"], "title": ["A", "B", "C"]})
    data = Interactions.from_frame(_frame(), user_col="u", item_col="i", time_col="t", item_table=table)
    part = data.select(np.array([1, 3]))
    assert part.num_items == 3 and len(part) == 2
    small = part.reindexed()
    assert small.user_vocab.to_list() == ["2", "3"]
    assert small.item_vocab.to_list() == ["a", "b"]
    assert small.item_table["title"].to_list() == ["A", "B"]
    both = data.select(np.array([0])).concat(data.select(np.array([4])))
    assert both.items.tolist() == [0, 2]
    data.save(tmp_path / "d")
    back = Interactions.load(tmp_path / "d")
    assert back.user_vocab == data.user_vocab and back.item_vocab == data.item_vocab
    assert np.array_equal(back.timestamps, data.timestamps)
    assert back.item_table["title"].to_list() == ["A", "B", "C"]
