"""Tests for ssl4rec.text.templates."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

import pytest

from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import ConfigError
from ssl4rec.text.templates import TEMPLATES, item_texts

MakeData = Callable[[pl.DataFrame | None, Sequence[str]], Interactions]


def test_movielens_template(movies: Interactions) -> None:
    texts = item_texts(movies, "movielens")
    assert len(texts) == movies.num_items
    index = movies.item_vocab.index
    assert texts[index("1")] == "Toy Story (1995). Genres: Animation, Children's, Comedy"
    assert texts[index("9")] == "Casablanca (1942). Genres: Drama, Romance"


def test_movielens_template_drops_missing_year(make_data: MakeData) -> None:
    table = pl.DataFrame(
        {"item_id": ["a", "b"], "title": ["Heat", "Up"], "year": [None, 2009], "genres": [[], []]}
    )
    data = make_data(table, ["a", "b"])
    assert item_texts(data, "movielens") == ["Heat", "Up (2009)"]


def test_amazon_template(make_data: MakeData) -> None:
    table = pl.DataFrame(
        {
            "item_id": ["p1", "p2"],
            "title": ["Echo Dot", "Kindle"],
            "brand": ["Amazon", None],
            "categories": [["Electronics", "Speakers"], ["Books"]],
            "description": ["Smart speaker with Alexa.", ""],
        }
    )
    data = make_data(table, ["p1", "p2"])
    assert item_texts(data, "amazon") == [
        "Echo Dot. Brand: Amazon. Categories: Electronics, Speakers. Smart speaker with Alexa.",
        "Kindle. Categories: Books",
    ]


def test_lastfm_template(make_data: MakeData) -> None:
    table = pl.DataFrame(
        {"item_id": ["7"], "title": ["Muse"], "tags": [["rock", "alternative", "britrock"]]}
    )
    data = make_data(table, ["7"])
    assert item_texts(data, "lastfm") == ["Muse. Tags: rock, alternative, britrock"]


def test_default_joins_available_columns(make_data: MakeData) -> None:
    table = pl.DataFrame(
        {
            "item_id": ["x"],
            "title": ["Widget"],
            "tags": [["blue"]],
            "description": ["A  small\nwidget."],
        }
    )
    data = make_data(table, ["x"])
    assert item_texts(data) == ["Widget. Tags: blue. A small widget."]
    assert item_texts(data, "default") == item_texts(data)


def test_format_string_override(movies: Interactions) -> None:
    texts = item_texts(movies, "{title} [{year}] :: {genres}")
    assert texts[movies.item_vocab.index("3")] == "Heat [1995] :: Action, Crime, Thriller"


def test_override_with_extra_column(make_data: MakeData) -> None:
    table = pl.DataFrame({"item_id": ["a"], "title": ["Heat"], "director": ["Michael Mann"]})
    data = make_data(table, ["a"])
    assert item_texts(data, "{title}, directed by {director}") == ["Heat, directed by Michael Mann"]


def test_segment_override_drops_empty_segments(make_data: MakeData) -> None:
    table = pl.DataFrame({"item_id": ["a", "b"], "title": ["Heat", "Up"], "year": [1995, None]})
    data = make_data(table, ["a", "b"])
    assert item_texts(data, ["{title}", " from {year}"]) == ["Heat from 1995", "Up"]


def test_unknown_placeholder_names_it(movies: Interactions) -> None:
    with pytest.raises(ConfigError, match=r"unknown placeholder \{director\}"):
        item_texts(movies, "{title} by {director}")


@pytest.mark.parametrize(
    "template",
    ["{title.__class__}", "{title[0]}", "{0}", "{}", "{title"],
    ids=["attribute", "index", "positional", "empty", "unbalanced"],
)
def test_unsafe_or_malformed_placeholders_rejected(movies: Interactions, template: str) -> None:
    with pytest.raises(ConfigError, match="item text template"):
        item_texts(movies, template)


def test_unknown_template_name(movies: Interactions) -> None:
    with pytest.raises(ConfigError, match="'imdb'"):
        item_texts(movies, "imdb")


def test_numeric_format_spec_on_text_is_config_error(movies: Interactions) -> None:
    with pytest.raises(ConfigError, match="cannot be rendered"):
        item_texts(movies, "{title:d}")


def test_missing_text_warns_with_count(make_data: MakeData) -> None:
    table = pl.DataFrame(
        {
            "item_id": ["a", "b", "c", "d"],
            "title": ["Heat", None, "  ", None],
            "genres": [["Crime"], None, [], []],
        }
    )
    data = make_data(table, ["a", "b", "c", "d"])
    with pytest.warns(UserWarning, match="3 of 4 items have no text"):
        texts = item_texts(data, "movielens")
    assert texts == ["Heat. Genres: Crime", "", "", ""]


def test_no_item_table_warns_and_returns_empty_strings(make_data: MakeData) -> None:
    data = make_data(None, ["a", "b"])
    with pytest.warns(UserWarning, match="2 of 2 items have no text"):
        assert item_texts(data) == ["", ""]


def test_builtin_templates_known() -> None:
    assert {"movielens", "amazon", "lastfm", "default"} <= set(TEMPLATES)


def test_description_paragraphs_joined_with_space(make_data: MakeData) -> None:
    table = pl.DataFrame(
        {"item_id": ["p"], "title": ["Lamp"], "description": [["Bright.", "Warm light."]]}
    )
    data = make_data(table, ["p"])
    assert item_texts(data, "amazon") == ["Lamp. Bright. Warm light."]
