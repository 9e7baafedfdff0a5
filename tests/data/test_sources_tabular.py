"""Generic CSV / TSV / Parquet loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

import pytest

from ssl4rec.data.sources.tabular import load_tabular
from ssl4rec.errors import DataError

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "tabular"


def test_csv_with_item_file():
    data = load_tabular(
        ASSETS / "events.csv",
        user_col="uid",
        item_col="iid",
        weight_col="stars",
        time_col="when",
        items_path=ASSETS / "items.csv",
        item_id_col="item",
        item_text_cols={"name": "title", "genres": "genres"},
        item_list_cols={"genres": "|"},
    )
    assert data.name == "events"
    assert data.user_vocab.to_list() == ["u1", "u2"]
    np.testing.assert_array_equal(data.items, [0, 1, 1])
    np.testing.assert_array_equal(data.weights, [5, 3, 4])
    np.testing.assert_array_equal(data.timestamps, [100, 101, 102])
    assert data.item_titles() == ["Widget, large", "Gadget"]
    assert data.item_table["genres"].to_list() == [["a", "b"], ["c"]]


def test_tsv_by_extension_and_implicit():
    data = load_tabular(ASSETS / "events.tsv", user_col="uid", item_col="iid")
    np.testing.assert_array_equal(data.weights, [1, 1])
    np.testing.assert_array_equal(data.timestamps, [0, 0])


def test_parquet(tmp_path):
    path = tmp_path / "ev.parquet"
    pl.DataFrame({"u": [1, 2], "i": ["x", "y"], "r": [2.5, 4.0]}).write_parquet(path)
    data = load_tabular(path, user_col="u", item_col="i", weight_col="r")
    assert data.user_vocab.to_list() == ["1", "2"]
    np.testing.assert_array_equal(data.weights, [2.5, 4.0])
    with pytest.raises(DataError, match=r"ev\.parquet: column 'user' not found.*'u'"):
        load_tabular(path, user_col="user", item_col="i")


def test_unknown_column_lists_available():
    with pytest.raises(DataError, match=r"events\.csv: column 'rating' not found.*'stars'"):
        load_tabular(ASSETS / "events.csv", user_col="uid", item_col="iid", weight_col="rating")


def test_wrong_separator_option():
    with pytest.raises(
        DataError, match=r"events\.csv, line 1: .*separator ';'.*looks ','-separated"
    ):
        load_tabular(ASSETS / "events.csv", user_col="uid", item_col="iid", sep=";")


def test_bad_timestamp_line(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("uid,iid,when\nu1,i1,100\nu1,i2,yesterday\n")
    with pytest.raises(
        DataError, match=r"e\.csv, line 3: column 'when' must be an integer, got 'yesterday'"
    ):
        load_tabular(path, user_col="uid", item_col="iid", time_col="when")


def test_header_only_file(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("uid,iid\n")
    with pytest.raises(DataError, match=r"e\.csv: no interactions"):
        load_tabular(path, user_col="uid", item_col="iid")


def test_bad_list_column():
    with pytest.raises(DataError, match=r"items\.csv: list column 'tags' not in the item table"):
        load_tabular(
            ASSETS / "events.csv",
            user_col="uid",
            item_col="iid",
            items_path=ASSETS / "items.csv",
            item_id_col="item",
            item_list_cols={"tags": "|"},
        )
