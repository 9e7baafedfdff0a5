"""Text that is not valid in the expected encoding is reported with its line."""

from __future__ import annotations

import pytest

from ssl4rec.data.sources import load_path
from ssl4rec.errors import DataError


def test_non_utf8_csv_names_the_line(tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(b"user,item,ts\nu1,i1,1\nu2,i2,2\nu3,caf\xe9,3\n")
    with pytest.raises(DataError, match=r"events\.csv, line 4: not valid utf-8 text"):
        load_path(path, format="csv", columns={"user": "user", "item": "item", "timestamp": "ts"})
