"""HetRec 2011 Last.fm loader (Cantador, Brusilovsky & Kuflik, RecSys 2011 workshop).

Official files (https://grouplens.org/datasets/hetrec-2011/), TAB-separated with a
header: ``user_artists.dat`` (userID, artistID, weight = listen count),
``artists.dat`` (id, name, url, pictureURL; UTF-8), ``tags.dat`` (tagID, tagValue;
latin-1) and ``user_taggedartists.dat`` (userID, artistID, tagID, day, month, year).
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from ssl4rec.data.interactions import Interactions
from ssl4rec.data.sources._io import join_tags, read_delimited, read_delimited_if_present
from ssl4rec.errors import DataError

__all__ = ["load_lastfm_hetrec"]

logger = logging.getLogger(__name__)


def load_lastfm_hetrec(
    folder: str | Path, *, top_tags: int = 10, name: str | None = None
) -> Interactions:
    """Load the HetRec 2011 Last.fm folder.

    Args:
        folder: the unpacked ``hetrec2011-lastfm-2k`` folder.
        top_tags: how many of each artist's most frequent tags to keep in ``tags``
            (ties broken by the smaller tag id).
        name: dataset name; defaults to ``"lastfm-hetrec-2k"``.

    Returns:
        One event per (user, artist) with the listen count as weight and timestamp 0
        (``user_artists.dat`` has no time). The item table holds ``item_id``,
        ``title`` (artist name), ``url`` and ``tags`` (list) when the side files exist.

    Raises:
        DataError: a missing or malformed file, naming the file and line.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: HetRec Last.fm folder not found")
    events = read_delimited(
        folder / "user_artists.dat",
        sep="\t",
        columns={"userID": pl.Utf8, "artistID": pl.Utf8, "weight": pl.Float64},
        what="Last.fm listen-count file",
    )
    artists = read_delimited_if_present(
        folder / "artists.dat",
        sep="\t",
        columns={"id": pl.Utf8, "name": pl.Utf8},
        what="Last.fm artist file",
    )
    item_table = None
    if artists is not None:
        item_table = artists.select(
            pl.col("id").alias("item_id"),
            pl.col("name").alias("title"),
            *([pl.col("url")] if "url" in artists.columns else []),
        )
        tagged_path, tags_path = folder / "user_taggedartists.dat", folder / "tags.dat"
        if tagged_path.is_file() and tags_path.is_file():
            item_table = join_tags(item_table, _artist_tags(tagged_path, tags_path, top_tags))
    return Interactions.from_frame(
        events,
        user_col="userID",
        item_col="artistID",
        weight_col="weight",
        item_table=item_table,
        name=name or "lastfm-hetrec-2k",
        source=str(folder / "user_artists.dat"),
    )


def _artist_tags(tagged_path: Path, tags_path: Path, k: int) -> pl.DataFrame:
    """``item_id, tags``: each artist's ``k`` most assigned tag names."""
    tags = read_delimited(
        tags_path,
        sep="\t",
        columns={"tagID": pl.Int64, "tagValue": pl.Utf8},
        encoding="latin-1",
        what="Last.fm tag file",
    )
    tagged = read_delimited(
        tagged_path,
        sep="\t",
        columns={"artistID": pl.Utf8, "tagID": pl.Int64},
        what="Last.fm tag assignment file",
    )
    return (
        tagged.group_by("artistID", "tagID")
        .agg(pl.len().alias("n"))
        .join(tags.select("tagID", "tagValue"), on="tagID", how="inner")
        .sort(["artistID", "n", "tagID"], descending=[False, True, False])
        .group_by("artistID", maintain_order=True)
        .agg(pl.col("tagValue").head(k).alias("tags"))
        .rename({"artistID": "item_id"})
    )
