"""User-user edge files (Ciao trust network, Last.fm friends) -> user-index pairs."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

import pytest

from ssl4rec.data.interactions import IdVocab
from ssl4rec.data.sources.social import load_social_edges
from ssl4rec.errors import DataError

USERS = IdVocab(["1", "2", "3", "7"], name="user")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_ciao_trust_network_with_header(tmp_path: Path) -> None:
    path = _write(tmp_path, "trustnetwork.tsv", "trustor\ttrustee\n1\t2\n2\t3\n1\t2\n3\t3\n")
    edges = load_social_edges(path, USERS)
    # duplicate (1, 2) and self-loop (3, 3) removed; file order kept
    np.testing.assert_array_equal(edges, [[0, 1], [1, 2]])


def test_lastfm_friends_drop_unknown_users(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path, "user_friends.dat", "userID\tfriendID\n2\t7\n7\t2\n2\t99\n")
    with caplog.at_level(logging.INFO, logger="ssl4rec.data.sources.social"):
        edges = load_social_edges(path, USERS)
    np.testing.assert_array_equal(edges, [[1, 3], [3, 1]])
    assert "1 naming users without interactions dropped" in caplog.text


def test_headerless_csv_with_extra_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, "trust.csv", "1,7,1.0\n7,3,0.5\n")
    np.testing.assert_array_equal(load_social_edges(path, USERS), [[0, 3], [3, 2]])


def test_a_line_with_one_field_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "trust.tsv", "trustor\ttrustee\n1\t2\n3\n")
    with pytest.raises(
        DataError, match=r"trust\.tsv, line 3: expected two user ids separated by TAB"
    ):
        load_social_edges(path, USERS)


def test_missing_file_and_foreign_ids(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="social edge file not found"):
        load_social_edges(tmp_path / "nope.tsv", USERS)
    path = _write(tmp_path, "trust.tsv", "a\tb\nu10\tu11\n")
    with pytest.raises(DataError, match="none of the 1 edges joins two users"):
        load_social_edges(path, USERS)
