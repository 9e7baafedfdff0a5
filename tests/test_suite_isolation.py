"""The suite never writes into the user's ssl4rec cache."""

from __future__ import annotations

import os
from pathlib import Path

from ssl4rec.data.registry import dataset_home
from ssl4rec.text.cache import default_cache_dir


def test_caches_point_into_a_temporary_home(temporary_ssl4rec_home: str, tmp_path: Path) -> None:
    home = Path(temporary_ssl4rec_home)
    assert os.environ["SSL4REC_HOME"] == str(home)
    assert home.parent == tmp_path.parent  # both under this session's base temp folder
    assert dataset_home() == home
    assert default_cache_dir() == home / "embeddings"
