"""Fixtures for the whole suite."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def temporary_ssl4rec_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Point ``$SSL4REC_HOME`` (datasets, embedding cache) at a temporary folder.

    Nothing a test writes by default lands in the user's cache.
    """
    home = str(tmp_path_factory.mktemp("ssl4rec-home"))
    old = os.environ.get("SSL4REC_HOME")
    os.environ["SSL4REC_HOME"] = home
    try:
        yield home
    finally:
        if old is None:
            os.environ.pop("SSL4REC_HOME", None)
        else:
            os.environ["SSL4REC_HOME"] = old
