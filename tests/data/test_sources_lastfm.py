"""HetRec 2011 Last.fm loader on a hand-written fixture."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

import pytest

from ssl4rec.data.sources.lastfm import load_lastfm_hetrec
from ssl4rec.errors import DataError

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def test_lastfm_events_and_tags():
    data = load_lastfm_hetrec(ASSETS / "lastfm")
    assert data.name == "lastfm-hetrec-2k"
    assert data.user_vocab.to_list() == ["2", "3"]
    assert data.item_vocab.to_list() == ["51", "52"]
    np.testing.assert_array_equal(data.weights, [13883, 11690, 228])
    np.testing.assert_array_equal(data.timestamps, [0, 0, 0])
    table = data.item_table
    assert table["title"].to_list() == ["Duran Duran", "Morcheeba"]
    assert table["url"][1] == "http://www.last.fm/music/Morcheeba"
    assert table["tags"].to_list() == [["80s", "new wave"], ["trip-hop", "música"]]


def test_lastfm_top_tags_limit():
    data = load_lastfm_hetrec(ASSETS / "lastfm", top_tags=1)
    assert data.item_table["tags"].to_list() == [["80s"], ["trip-hop"]]


def test_lastfm_without_side_files(tmp_path):
    shutil.copy(ASSETS / "lastfm" / "user_artists.dat", tmp_path)
    data = load_lastfm_hetrec(tmp_path)
    assert data.item_table is None and len(data) == 3


def test_lastfm_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"user_artists\.dat: Last\.fm listen-count file not found"):
        load_lastfm_hetrec(tmp_path)


def test_lastfm_bad_weight(tmp_path):
    (tmp_path / "user_artists.dat").write_text("userID\tartistID\tweight\n2\t51\t10\n2\t52\tlots\n")
    with pytest.raises(
        DataError, match=r"user_artists\.dat, line 3: column 'weight' must be a number"
    ):
        load_lastfm_hetrec(tmp_path)


def test_lastfm_space_separated(tmp_path):
    (tmp_path / "user_artists.dat").write_text("userID artistID weight\n2 51 10\n")
    with pytest.raises(DataError, match=r"line 1: found a single field using separator TAB"):
        load_lastfm_hetrec(tmp_path)
