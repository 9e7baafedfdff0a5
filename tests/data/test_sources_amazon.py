"""Amazon 2018 / 2023 loaders and the UniSRec folder loader on hand-written fixtures."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np

import pytest

from ssl4rec.data.sources.amazon import (
    load_amazon,
    load_amazon_unisrec,
    load_amazon_unisrec_split,
)
from ssl4rec.data.splits import Split
from ssl4rec.errors import DataError

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def test_amazon_2018_with_meta():
    data = load_amazon(
        ASSETS / "amazon" / "Reviews_2018.json", meta=ASSETS / "amazon" / "meta_2018.json"
    )
    assert data.name == "Reviews_2018"
    assert data.user_vocab.to_list() == ["A1", "A2"]
    assert data.item_vocab.to_list() == ["B001", "B002"]
    np.testing.assert_array_equal(data.users, [0, 1, 0])
    np.testing.assert_array_equal(data.weights, [5, 3, 4])
    np.testing.assert_array_equal(data.timestamps, [1441324800, 1441411200, 1441497600])
    table = data.item_table
    assert table["title"].to_list() == ["Glass Beaker 250ml", "Safety Goggles"]
    assert table["brand"].to_list() == ["Pyrex", ""]
    assert table["categories"].to_list() == [["Industrial & Scientific", "Lab"], []]
    assert table["description"].to_list() == ["A fine beaker.", ""]


def test_amazon_2023_gzipped_with_meta():
    data = load_amazon(
        ASSETS / "amazon" / "All_Beauty.jsonl.gz",
        meta=ASSETS / "amazon" / "meta_All_Beauty.jsonl.gz",
    )
    assert data.name == "All_Beauty"
    assert data.item_vocab.to_list() == ["P1", "P2"]
    assert data.user_vocab.to_list() == ["U1", "U2"]
    np.testing.assert_array_equal(data.weights, [5, 2, 4])
    np.testing.assert_array_equal(data.timestamps, [1588687728, 1588687729, 1600000000])
    table = data.item_table
    assert table["title"].to_list() == ["Lip Balm", "Comb"]
    assert table["brand"].to_list() == ["Burt's", None]
    assert table["categories"].to_list() == [["Beauty", "Lips"], []]
    assert table["description"].to_list() == ["Soft lips.", ""]
    assert table["features"].to_list() == [["SPF 15", "Vanilla"], []]


def test_amazon_without_meta_has_no_item_table():
    assert load_amazon(ASSETS / "amazon" / "Reviews_2018.json").item_table is None


def test_amazon_invalid_json_line(tmp_path):
    path = tmp_path / "r.json"
    lines = (ASSETS / "amazon" / "Reviews_2018.json").read_text().splitlines()
    lines[1] = lines[1][:-5]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"r\.json, line 2: invalid JSON"):
        load_amazon(path)


def test_amazon_missing_field_lists_present(tmp_path):
    path = tmp_path / "r.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write('{"reviewerID": "A1", "asin": "B1", "overall": 5.0, "unixReviewTime": 1}\n')
        fh.write('{"reviewerID": "A2", "asin": "B1", "overall": 4.0}\n')
    with pytest.raises(
        DataError, match=r"r\.jsonl\.gz, line 2: field 'unixReviewTime' missing.*'asin'"
    ):
        load_amazon(path)


def test_amazon_unknown_record_and_missing_file(tmp_path):
    path = tmp_path / "r.json"
    path.write_text('{"user": "x", "item": "y"}\n')
    with pytest.raises(DataError, match=r"r\.json, line 1: not an Amazon reviews record"):
        load_amazon(path)
    with pytest.raises(DataError, match=r"nope\.json: Amazon reviews file not found"):
        load_amazon(tmp_path / "nope.json")


# ---------------------------------------------------------------------- UniSRec
def test_unisrec_events_rebuilt_from_sequences():
    data = load_amazon_unisrec(ASSETS / "amazon-unisrec")
    assert data.name == "Toy"
    assert data.user_vocab.to_list() == ["REV_X", "REV_Y"]
    assert data.item_vocab.to_list() == ["ASIN_A", "ASIN_B", "ASIN_C", "ASIN_D", "ASIN_E", "ASIN_F"]
    seqs = data.sequences()
    assert seqs[0].tolist() == [0, 1, 2, 3, 4, 5]
    assert seqs[1].tolist() == [2, 0, 4, 1]
    np.testing.assert_array_equal(data.timestamps, [0, 1, 2, 3, 4, 5, 0, 1, 2, 3])
    np.testing.assert_array_equal(data.weights, np.ones(10))
    assert data.item_table["description"][0] == "Item A title. Cat. BrandA."


def test_unisrec_split_is_the_provided_one():
    split = load_amazon_unisrec_split(ASSETS / "amazon-unisrec")
    assert isinstance(split, Split)
    assert split.protocol == "loo"
    assert split.train.sequences()[0].tolist() == [0, 1, 2, 3]
    assert split.train.sequences()[1].tolist() == [2, 0]
    assert split.valid.items.tolist() == [4, 4]
    assert split.test.items.tolist() == [5, 1]
    assert split.train.item_vocab is split.test.item_vocab


@pytest.fixture
def unisrec_copy(tmp_path):
    return Path(shutil.copytree(ASSETS / "amazon-unisrec", tmp_path / "u"))


def test_unisrec_inconsistent_row(unisrec_copy):
    path = unisrec_copy / "Toy.test.inter"
    path.write_text(path.read_text().replace("0\t0 1 2 3 4\t5", "0\t0 1 9 3 4\t5"))
    with pytest.raises(
        DataError, match=r"Toy\.test\.inter, line 2: item_id_list of user 0 does not continue"
    ):
        load_amazon_unisrec(unisrec_copy)


def test_unisrec_missing_files(unisrec_copy):
    (unisrec_copy / "Toy.user2index").unlink()
    with pytest.raises(DataError, match=r"Toy\.user2index: UniSRec user index not found"):
        load_amazon_unisrec(unisrec_copy)
    (unisrec_copy / "Toy.train.inter").unlink()
    with pytest.raises(DataError, match=r"expected exactly one X\.train\.inter"):
        load_amazon_unisrec(unisrec_copy)


def test_unisrec_user_without_test_row(unisrec_copy):
    path = unisrec_copy / "Toy.test.inter"
    path.write_text("\n".join(path.read_text().splitlines()[:2]) + "\n")
    with pytest.raises(DataError, match=r"Toy\.test\.inter: no row for user 1"):
        load_amazon_unisrec(unisrec_copy)
