"""MovieLens and RecBole atomic loaders on hand-written fixtures in the official formats."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

import pytest

from ssl4rec.data.sources.movielens import (
    detect_movielens_variant,
    load_movielens,
    load_recbole_atomic,
)
from ssl4rec.errors import DataError

ASSETS = Path(__file__).resolve().parents[1] / "assets"


@pytest.fixture
def copy_of(tmp_path):
    def make(name: str) -> Path:
        return Path(shutil.copytree(ASSETS / name, tmp_path / name))

    return make


def test_detects_each_variant():
    assert detect_movielens_variant(ASSETS / "ml-100k") == "ml-100k"
    assert detect_movielens_variant(ASSETS / "ml-1m") == "ml-1m"
    assert detect_movielens_variant(ASSETS / "ml-latest-small") == "ml-csv"
    assert detect_movielens_variant(ASSETS / "recbole" / "toy") == "recbole"


def test_ml100k():
    data = load_movielens(ASSETS / "ml-100k")
    assert data.name == "ml-100k"
    assert data.user_vocab.to_list() == ["1", "2", "3"]
    assert data.item_vocab.to_list() == ["10", "20", "30"]
    np.testing.assert_array_equal(data.users, [0, 1, 0, 2, 1])
    np.testing.assert_array_equal(data.items, [0, 1, 1, 0, 2])
    np.testing.assert_array_equal(data.weights, [4, 3, 5, 2, 1])
    np.testing.assert_array_equal(data.timestamps[:2], [881250949, 891717742])
    table = data.item_table
    assert table["title"].to_list() == ["Toy Story", "Café au lait", "unknown"]
    assert table["year"].to_list() == [1995, 1993, 1997]  # 1997 from the release date
    assert table["genres"].to_list() == [
        ["Animation", "Children's", "Comedy"],
        ["Comedy"],
        ["unknown"],
    ]
    assert data.user_table["occupation"].to_list() == ["technician", "other", "writer"]
    assert data.user_table["age"].to_list() == [24, 53, 23]


def test_ml1m():
    data = load_movielens(ASSETS / "ml-1m")
    assert len(data) == 3
    assert data.item_vocab.to_list() == ["1193", "661"]
    np.testing.assert_array_equal(data.weights, [5, 3, 4])
    np.testing.assert_array_equal(data.timestamps, [978300760, 978302109, 978298413])
    assert data.item_titles() == [
        "One Flew Over the Cuckoo's Nest",
        "Star Wars: Episode IV - A New Hope",
    ]
    assert data.item_table["year"].to_list() == [1975, 1977]
    assert data.item_table["genres"].to_list()[1] == ["Action", "Adventure", "Fantasy", "Sci-Fi"]
    assert data.user_table["gender"].to_list() == ["F", "M"]
    assert data.user_table["age"].to_list() == [1, 56]


def test_ml_latest_csv_with_tags():
    data = load_movielens(ASSETS / "ml-latest-small")
    assert data.user_vocab.to_list() == ["1", "2"]
    assert data.item_vocab.to_list() == ["1", "3", "2"]
    np.testing.assert_array_equal(data.weights, [4.0, 4.5, 2.5, 3.0])
    table = data.item_table
    assert table["title"].to_list() == ["Toy Story", "Some Film", "American President, The"]
    assert table["year"].to_list() == [1995, None, 1995]
    assert table["genres"].to_list()[1] == []
    assert table["tags"].to_list() == [["pixar", "fun"], [], ["politics"]]


def test_recbole_atomic_folder_and_prefix():
    data = load_recbole_atomic(ASSETS / "recbole" / "toy")
    same = load_recbole_atomic(ASSETS / "recbole" / "toy" / "toy")
    assert data.name == same.name == "toy"
    np.testing.assert_array_equal(data.items, same.items)
    assert data.user_vocab.to_list() == ["196", "186"]
    np.testing.assert_array_equal(data.weights, [3, 3, 4])
    np.testing.assert_array_equal(data.timestamps, [881250949, 891717742, 881250950])
    assert data.item_table.columns == ["item_id", "title", "year", "genres"]
    assert data.item_titles() == ["Kolya", "L.A. Confidential"]
    assert data.item_table["year"].to_list() == [1996, 1997]
    assert data.item_table["genres"].to_list()[1] == ["Crime", "Film-Noir", "Mystery", "Thriller"]
    assert data.user_table["zip_code"].to_list() == ["55105", "00000"]
    assert load_movielens(ASSETS / "recbole" / "toy").num_items == 2


# ---------------------------------------------------------------------- errors
def test_not_a_movielens_folder(tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(DataError, match=r"not a MovieLens folder.*readme\.txt"):
        load_movielens(tmp_path)


def test_empty_ratings_file(copy_of):
    folder = copy_of("ml-100k")
    (folder / "u.data").write_text("")
    with pytest.raises(DataError, match=r"u\.data: ML-100K ratings file is empty"):
        load_movielens(folder)


def test_wrong_separator_is_named(copy_of):
    folder = copy_of("ml-100k")
    (folder / "u.data").write_text("1,10,4,881250949\n2,20,3,891717742\n")
    with pytest.raises(DataError, match=r"u\.data, line 1: .*separator TAB.*looks ','-separated"):
        load_movielens(folder)


def test_short_line_names_line_number(copy_of):
    folder = copy_of("ml-100k")
    (folder / "u.data").write_text("1\t10\t4\t881250949\n2\t20\t3\n")
    with pytest.raises(
        DataError, match=r"u\.data, line 2: expected 4 TAB-separated fields.*found 3"
    ):
        load_movielens(folder)


def test_long_line_names_line_number(copy_of):
    folder = copy_of("ml-1m")
    (folder / "ratings.dat").write_text(
        "1::1193::5::978300760\n1::661::3::978302109\n1::2::3::4::5\n"
    )
    with pytest.raises(DataError, match=r"ratings\.dat, line 3: expected 4 '::'-separated fields"):
        load_movielens(folder)


def test_non_numeric_rating_names_line_and_column(copy_of):
    folder = copy_of("ml-latest-small")
    text = (folder / "ratings.csv").read_text().replace("2,2,3.0", "2,2,great")
    (folder / "ratings.csv").write_text(text)
    with pytest.raises(
        DataError, match=r"ratings\.csv, line 5: column 'rating' must be a number, got 'great'"
    ):
        load_movielens(folder)


def test_misnamed_column_lists_available(copy_of):
    folder = copy_of("ml-latest-small")
    text = (folder / "ratings.csv").read_text().replace("movieId", "itemId", 1)
    (folder / "ratings.csv").write_text(text)
    with pytest.raises(DataError, match=r"ratings\.csv: column 'movieId' not found.*'itemId'"):
        load_movielens(folder)


def test_recbole_header_without_types(copy_of):
    folder = copy_of("recbole")
    (folder / "toy" / "toy.inter").write_text("user_id\titem_id\n1\t2\n")
    with pytest.raises(DataError, match=r"toy\.inter, line 1: header field 'user_id' has no type"):
        load_recbole_atomic(folder / "toy")


def test_recbole_missing_item_column(copy_of):
    folder = copy_of("recbole")
    (folder / "toy" / "toy.inter").write_text("user_id:token\titem:token\n1\t2\n")
    with pytest.raises(DataError, match=r"toy\.inter: column 'item_id' not found.*'item'"):
        load_recbole_atomic(folder / "toy")


def test_recbole_missing_inter(tmp_path):
    with pytest.raises(DataError, match=r"no RecBole \.inter file"):
        load_recbole_atomic(tmp_path)
    with pytest.raises(DataError, match=r"nothing\.inter: RecBole interaction file not found"):
        load_recbole_atomic(tmp_path / "nothing")
