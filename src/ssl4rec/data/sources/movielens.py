"""MovieLens loaders (GroupLens formats) and RecBole atomic files.

Official files: https://grouplens.org/datasets/movielens/ (Harper & Konstan, 2015).
Variants read here, each in its official layout:

- ML-100K: ``u.data`` (TAB: user item rating timestamp, no header), ``u.item``
  (``|``-separated, latin-1: id, title "Toy Story (1995)", dates, URL, 19 genre
  flags), ``u.user``.
- ML-1M (and ML-10M): ``ratings.dat``, ``movies.dat``, ``users.dat`` with ``::``
  separators, latin-1.
- ML-20M / ML-25M / ml-latest(-small): ``ratings.csv``, ``movies.csv`` (genres
  ``"A|B"``), optional ``tags.csv``.
- RecBole atomic files ``X.inter``/``X.item``/``X.user`` (TAB, typed header
  ``name:type``), e.g. the ml-100k copy inside the ``recbole`` wheel.
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from ssl4rec.data.interactions import Interactions
from ssl4rec.data.sources._io import (
    check_file,
    join_tags,
    read_delimited,
    read_delimited_if_present,
    split_year,
)
from ssl4rec.errors import DataError

__all__ = [
    "ML100K_GENRES",
    "detect_movielens_variant",
    "load_movielens",
    "load_recbole_atomic",
]

logger = logging.getLogger(__name__)

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
"""The 19 genre flag columns of ML-100K ``u.item``, in file order."""

_U_ITEM_NAMES = [
    "item_id", "raw_title", "release_date", "video_release_date", "imdb_url",
    *(f"g{i}" for i in range(len(ML100K_GENRES))),
]  # fmt: skip

_RATING_SCHEMA = {"user": pl.Utf8, "item": pl.Utf8, "rating": pl.Float64, "ts": pl.Int64}
_ITEM_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "item_id": pl.Utf8,
    "title": pl.Utf8,
    "year": pl.Int32,
    "genres": pl.List(pl.Utf8),
}


def detect_movielens_variant(path: str | Path) -> str:
    """Which MovieLens layout a folder holds.

    Returns:
        ``"ml-100k"``, ``"ml-1m"`` (``ratings.dat``; also ML-10M), ``"ml-csv"``
        (``ratings.csv``: ML-20M, ML-25M, ml-latest) or ``"recbole"`` (``*.inter``).

    Raises:
        DataError: the folder has none of these files (its content is listed).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"{folder}: MovieLens folder not found")
    if (folder / "u.data").is_file():
        return "ml-100k"
    if (folder / "ratings.dat").is_file():
        return "ml-1m"
    if (folder / "ratings.csv").is_file():
        return "ml-csv"
    if any(folder.glob("*.inter")):
        return "recbole"
    present = sorted(p.name for p in folder.iterdir())[:20]
    raise DataError(
        f"{folder}: not a MovieLens folder; expected u.data (ML-100K), ratings.dat (ML-1M), "
        f"ratings.csv (ML-20M/25M/latest) or a RecBole X.inter file; found {present}"
    )


def load_movielens(path: str | Path, *, name: str | None = None) -> Interactions:
    """Load any MovieLens variant from its folder, detecting the layout.

    Args:
        path: the folder of an unpacked GroupLens zip (or of RecBole atomic files).
        name: dataset name for reports; defaults to the folder name.

    Returns:
        Explicit ratings as weights, timestamps in seconds, an item table with
        ``item_id``, ``title``, ``year`` and ``genres`` (plus ``tags`` when
        ``tags.csv`` exists), and a user table where the variant has one.

    Raises:
        DataError: unknown layout, or a file that is missing or malformed.
    """
    folder = Path(path)
    variant = detect_movielens_variant(folder)
    name = name or folder.name
    logger.info("loading MovieLens (%s layout) from %s", variant, folder)
    if variant == "ml-100k":
        return _load_100k(folder, name)
    if variant == "ml-1m":
        return _load_1m(folder, name)
    if variant == "ml-csv":
        return _load_csv(folder, name)
    return load_recbole_atomic(folder, name=name)


# ---------------------------------------------------------------------- ML-100K
def _load_100k(folder: Path, name: str) -> Interactions:
    ratings = read_delimited(
        folder / "u.data",
        sep="\t",
        names=list(_RATING_SCHEMA),
        columns=_RATING_SCHEMA,
        what="ML-100K ratings file",
    )
    items = read_delimited_if_present(
        folder / "u.item",
        sep="|",
        names=_U_ITEM_NAMES,
        columns={"item_id": pl.Utf8, **{f"g{i}": pl.Int8 for i in range(19)}},
        encoding="latin-1",
        what="ML-100K item file",
    )
    users = read_delimited_if_present(
        folder / "u.user",
        sep="|",
        names=["user_id", "age", "gender", "occupation", "zip_code"],
        columns={"user_id": pl.Utf8, "age": pl.Int32},
        what="ML-100K user file",
    )
    item_table = _u_item_table(items) if items is not None else None
    return _interactions(ratings, folder / "u.data", name, item_table, users)


def _u_item_table(items: pl.DataFrame) -> pl.DataFrame:
    """Title, year (from the title, else the release date) and genre flags of ``u.item``."""
    titles = [split_year(t) for t in items.get_column("raw_title").to_list()]
    dates = items.get_column("release_date").to_list()
    flags = items.select([f"g{i}" for i in range(19)]).rows()
    return pl.DataFrame(
        {
            "item_id": items.get_column("item_id"),
            "title": [t for t, _ in titles],
            "year": [
                y if y is not None else _year_from_date(d)
                for (_, y), d in zip(titles, dates, strict=True)
            ],
            "genres": [[g for g, f in zip(ML100K_GENRES, row, strict=True) if f] for row in flags],
        },
        schema=_ITEM_SCHEMA,
    )


def _year_from_date(date: str | None) -> int | None:
    """``"01-Jan-1995"`` -> 1995."""
    if date and len(date) >= 4 and date[-4:].isdigit():
        return int(date[-4:])
    return None


# ---------------------------------------------------------------------- ML-1M
def _load_1m(folder: Path, name: str) -> Interactions:
    ratings = read_delimited(
        folder / "ratings.dat",
        sep="::",
        names=list(_RATING_SCHEMA),
        columns=_RATING_SCHEMA,
        encoding="latin-1",
        what="ML-1M ratings file",
    )
    movies = read_delimited_if_present(
        folder / "movies.dat",
        sep="::",
        names=["item_id", "raw_title", "raw_genres"],
        columns={"item_id": pl.Utf8},
        encoding="latin-1",
        what="ML-1M movie file",
    )
    users = read_delimited_if_present(
        folder / "users.dat",
        sep="::",
        names=["user_id", "gender", "age", "occupation", "zip_code"],
        columns={"user_id": pl.Utf8, "age": pl.Int32, "occupation": pl.Int32},
        encoding="latin-1",
        what="ML-1M user file",
    )
    item_table = _movie_table(movies) if movies is not None else None
    return _interactions(ratings, folder / "ratings.dat", name, item_table, users)


def _movie_table(movies: pl.DataFrame) -> pl.DataFrame:
    """Split "Title (Year)" and "A|B" genres of a movies.dat / movies.csv frame."""
    titles = [split_year(t) for t in movies.get_column("raw_title").to_list()]
    genres = [
        [] if g is None or g == "(no genres listed)" else g.split("|")
        for g in movies.get_column("raw_genres").to_list()
    ]
    return pl.DataFrame(
        {
            "item_id": movies.get_column("item_id"),
            "title": [t for t, _ in titles],
            "year": [y for _, y in titles],
            "genres": genres,
        },
        schema=_ITEM_SCHEMA,
    )


# ---------------------------------------------------------------------- ML-20M/25M/latest
_CSV_RATING_COLUMNS = ("userId", "movieId", "rating", "timestamp")


def _load_csv(folder: Path, name: str, *, top_tags: int = 10) -> Interactions:
    ratings = read_delimited(
        folder / "ratings.csv",
        sep=",",
        columns={
            "userId": pl.Utf8,
            "movieId": pl.Utf8,
            "rating": pl.Float64,
            "timestamp": pl.Int64,
        },
        quote_char='"',
        what="MovieLens ratings file",
    )
    movies = read_delimited_if_present(
        folder / "movies.csv",
        sep=",",
        columns={"movieId": pl.Utf8, "title": pl.Utf8, "genres": pl.Utf8},
        quote_char='"',
        what="MovieLens movie file",
    )
    item_table = None
    if movies is not None:
        item_table = _movie_table(
            movies.rename({"movieId": "item_id", "title": "raw_title", "genres": "raw_genres"})
        )
        tags = read_delimited_if_present(
            folder / "tags.csv",
            sep=",",
            columns={"movieId": pl.Utf8, "tag": pl.Utf8},
            quote_char='"',
            what="MovieLens tag file",
        )
        if tags is not None:
            item_table = join_tags(item_table, _top_tags(tags, "movieId", "tag", top_tags))
    return _interactions(
        ratings, folder / "ratings.csv", name, item_table, None, columns=_CSV_RATING_COLUMNS
    )


def _top_tags(frame: pl.DataFrame, item_col: str, tag_col: str, k: int) -> pl.DataFrame:
    """Per item, its ``k`` most frequent tags (ties: first seen first) -> ``item_id, tags``."""
    return (
        frame.select(pl.col(item_col).cast(pl.Utf8).alias("item_id"), pl.col(tag_col).alias("t"))
        .with_row_index("row")
        .group_by("item_id", "t")
        .agg(pl.len().alias("n"), pl.col("row").min().alias("first"))
        .sort(["item_id", "n", "first"], descending=[False, True, False])
        .group_by("item_id", maintain_order=True)
        .agg(pl.col("t").head(k).alias("tags"))
    )


def _interactions(
    ratings: pl.DataFrame,
    source: Path,
    name: str,
    item_table: pl.DataFrame | None,
    user_table: pl.DataFrame | None,
    *,
    columns: tuple[str, str, str, str] = ("user", "item", "rating", "ts"),
) -> Interactions:
    """Explicit ratings with timestamps; ``columns`` = user, item, rating, time."""
    user_col, item_col, weight_col, time_col = columns
    return Interactions.from_frame(
        ratings,
        user_col=user_col,
        item_col=item_col,
        weight_col=weight_col,
        time_col=time_col,
        item_table=item_table,
        user_table=user_table,
        name=name,
        source=str(source),
    )


# ---------------------------------------------------------------------- RecBole atomic
# RecBole field names -> ssl4rec item-table names (text fields keep their raw string).
_RECBOLE_RENAME = {
    "movie_title": "title",
    "release_year": "year",
    "class": "genres",
    "genre": "genres",
    "categories": "categories",
}
_TEXT_FIELDS = {"title", "movie_title", "text", "description"}


def _resolve_prefix(folder_or_prefix: Path) -> Path:
    if folder_or_prefix.is_dir():
        own = folder_or_prefix / folder_or_prefix.name
        if own.with_suffix(own.suffix + ".inter").is_file() or Path(f"{own}.inter").is_file():
            return own
        inters = sorted(folder_or_prefix.glob("*.inter"))
        if len(inters) == 1:
            return inters[0].with_suffix("")
        if not inters:
            present = sorted(p.name for p in folder_or_prefix.iterdir())[:20]
            raise DataError(f"{folder_or_prefix}: no RecBole .inter file; found {present}")
        raise DataError(
            f"{folder_or_prefix}: several .inter files ({[p.name for p in inters]}); "
            "pass the prefix, e.g. folder/ml-100k"
        )
    return folder_or_prefix


def read_atomic(path: Path, *, what: str = "RecBole atomic file") -> pl.DataFrame:
    """Read one RecBole atomic file: typed header, token_seq -> list, float -> Float64.

    Raises:
        DataError: missing/empty file, a header field without ``:type``, an unknown
            type, or a malformed line.
    """
    check_file(path, what=what)
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        header = fh.readline().rstrip("\r\n").split("\t")
    fields: dict[str, str] = {}
    for raw in header:
        col, sep, kind = raw.partition(":")
        if not sep:
            raise DataError(
                f"{path}, line 1: header field {raw!r} has no type; RecBole headers look like "
                f"'user_id:token<TAB>item_id:token<TAB>rating:float' (got {header})"
            )
        if kind not in ("token", "token_seq", "float", "float_seq"):
            raise DataError(
                f"{path}, line 1: field {col!r} has unknown type {kind!r}; "
                "expected token, token_seq, float or float_seq"
            )
        fields[col] = kind
    frame = read_delimited(
        path,
        sep="\t",
        columns={
            raw: pl.Float64 if fields[raw.split(":")[0]] == "float" else pl.Utf8 for raw in header
        },
        what=what,
    )
    frame = frame.rename({raw: raw.split(":")[0] for raw in header})
    exprs = []
    for col, kind in fields.items():
        if kind == "token_seq" and col not in _TEXT_FIELDS:
            exprs.append(pl.col(col).str.split(" "))
        elif kind == "float_seq":
            exprs.append(pl.col(col).str.split(" ").cast(pl.List(pl.Float64)))
    return frame.with_columns(exprs) if exprs else frame


def load_recbole_atomic(folder_or_prefix: str | Path, *, name: str | None = None) -> Interactions:
    """Load RecBole atomic files ``X.inter`` (+ ``X.item``, ``X.user`` when present).

    Args:
        folder_or_prefix: a folder holding one ``X.inter`` (or ``<folder>/<folder>.inter``),
            or the prefix path ``folder/X``.
        name: dataset name; defaults to ``X``.

    Returns:
        Events with ``rating`` as weight and ``timestamp`` as time when present. The
        item table maps RecBole fields to ssl4rec names (``movie_title`` -> ``title``,
        ``release_year`` -> ``year``, ``class``/``genre`` -> ``genres``; other
        ``token_seq`` fields become lists).

    Raises:
        DataError: missing files, missing ``user_id``/``item_id`` columns, malformed lines.
    """
    prefix = _resolve_prefix(Path(folder_or_prefix))
    inter_path = Path(f"{prefix}.inter")
    inter = read_atomic(inter_path, what="RecBole interaction file")
    for col in ("user_id", "item_id"):
        if col not in inter.columns:
            raise DataError(
                f"{inter_path}: column {col!r} not found; available columns: {inter.columns}"
            )
    item_table = None
    item_path = Path(f"{prefix}.item")
    if item_path.is_file():
        items = read_atomic(item_path, what="RecBole item file")
        if "item_id" not in items.columns:
            raise DataError(
                f"{item_path}: column 'item_id' not found; available columns: {items.columns}"
            )
        items = items.rename(
            {k: v for k, v in _RECBOLE_RENAME.items() if k in items.columns and k != v}
        )
        if "year" in items.columns:
            items = items.with_columns(pl.col("year").cast(pl.Int32, strict=False))
        item_table = items
    user_table = None
    user_path = Path(f"{prefix}.user")
    if user_path.is_file():
        users = read_atomic(user_path, what="RecBole user file")
        if "user_id" not in users.columns:
            raise DataError(
                f"{user_path}: column 'user_id' not found; available columns: {users.columns}"
            )
        if "age" in users.columns:
            users = users.with_columns(pl.col("age").cast(pl.Int32, strict=False))
        user_table = users
    return Interactions.from_frame(
        inter,
        user_col="user_id",
        item_col="item_id",
        weight_col="rating" if "rating" in inter.columns else None,
        time_col="timestamp" if "timestamp" in inter.columns else None,
        item_table=item_table,
        user_table=user_table,
        name=name or prefix.name,
        source=str(inter_path),
    )
