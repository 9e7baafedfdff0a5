"""Shared fixtures for ssl4rec.text tests: tiny datasets and a counting encoder."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

import pytest

from ssl4rec.data.interactions import Interactions
from ssl4rec.testing.fakes import HashTextEncoder

MOVIES = [
    ("1", "Toy Story", 1995, ["Animation", "Children's", "Comedy"]),
    ("2", "Toy Story 2", 1999, ["Animation", "Children's", "Comedy"]),
    ("3", "Heat", 1995, ["Action", "Crime", "Thriller"]),
    ("4", "The Godfather", 1972, ["Crime", "Drama"]),
    ("5", "The Godfather: Part II", 1974, ["Crime", "Drama"]),
    ("6", "Alien", 1979, ["Horror", "Sci-Fi"]),
    ("7", "Aliens", 1986, ["Action", "Horror", "Sci-Fi"]),
    ("8", "Finding Nemo", 2003, ["Animation", "Children's"]),
    ("9", "Casablanca", 1942, ["Drama", "Romance"]),
    ("10", "Star Wars", 1977, ["Action", "Adventure", "Sci-Fi"]),
    ("11", "The Empire Strikes Back", 1980, ["Action", "Adventure", "Sci-Fi"]),
    ("12", "Notting Hill", 1999, ["Comedy", "Romance"]),
]

# per-user histories in time order: kids' films, crime, sci-fi, romance
HISTORIES = {
    "u1": ["1", "2", "8", "1"],
    "u2": ["4", "5", "3"],
    "u3": ["6", "7", "10", "11"],
    "u4": ["9", "12", "9"],
    "u5": ["10", "11", "7", "6"],
    "u6": ["2", "8", "12"],
}


def make_interactions(item_table: pl.DataFrame | None, item_ids: Sequence[str]) -> Interactions:
    """One event per user and item (user ``u<i>`` consumes item ``i``), in order."""
    frame = pl.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(len(item_ids))],
            "item_id": list(item_ids),
            "ts": list(range(len(item_ids))),
        }
    )
    return Interactions.from_frame(frame, time_col="ts", item_table=item_table, name="tiny")


@pytest.fixture
def make_data() -> Callable[[pl.DataFrame | None, Sequence[str]], Interactions]:
    """``make_interactions`` as a fixture, so test modules need no imports from here."""
    return make_interactions


@pytest.fixture
def movies() -> Interactions:
    """12 movies with title/year/genres and six users with themed histories."""
    table = pl.DataFrame(
        {
            "item_id": [m[0] for m in MOVIES],
            "title": [m[1] for m in MOVIES],
            "year": [m[2] for m in MOVIES],
            "genres": [m[3] for m in MOVIES],
        }
    )
    rows = [(u, item, t) for u, items in HISTORIES.items() for t, item in enumerate(items)]
    frame = pl.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "item_id": [r[1] for r in rows],
            "ts": [r[2] for r in rows],
        }
    )
    data = Interactions.from_frame(frame, time_col="ts", item_table=table, name="movies")
    assert data.num_items == len(MOVIES)
    return data


class CountingEncoder:
    """Wraps ``HashTextEncoder`` and records every text it is asked to encode."""

    def __init__(self, dim: int = 16) -> None:
        self.inner = HashTextEncoder(dim)
        self.name = self.inner.name
        self.dim = dim
        self.calls = 0
        self.seen: list[str] = []

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: bool | None = None
    ) -> np.ndarray:
        self.calls += 1
        self.seen.extend(texts)
        return self.inner.encode(texts)


@pytest.fixture
def counting_encoder() -> CountingEncoder:
    return CountingEncoder()
