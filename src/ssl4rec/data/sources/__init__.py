"""ssl4rec.data.sources: one loader module per public data format.

Each loader parses the official files with Polars and returns an ``Interactions``
with an item table (``item_id`` plus text fields) and, where present, a user table.
"""

from collections.abc import Mapping
from pathlib import Path

from ssl4rec.data.interactions import Interactions
from ssl4rec.data.sources.amazon import load_amazon, load_amazon_unisrec, load_amazon_unisrec_split
from ssl4rec.data.sources.lastfm import load_lastfm_hetrec
from ssl4rec.data.sources.movielens import load_movielens, load_recbole_atomic
from ssl4rec.data.sources.tabular import load_tabular

__all__ = [
    "load_path",
    "load_amazon",
    "load_amazon_unisrec",
    "load_amazon_unisrec_split",
    "load_lastfm_hetrec",
    "load_movielens",
    "load_recbole_atomic",
    "load_tabular",
]


FORMATS = ("auto", "movielens", "recbole", "amazon", "amazon-unisrec", "lastfm", "csv", "parquet")


def load_path(
    path: str | Path,
    *,
    format: str = "auto",
    columns: Mapping[str, str] | None = None,
    separator: str | None = None,
) -> Interactions:
    """Load a local file or folder in any supported format.

    Args:
        path: A file (csv/tsv/parquet, Amazon JSON lines) or a dataset folder.
        format: One of ``FORMATS``; ``auto`` guesses from the file names.
        columns: For csv/parquet: ``user``, ``item``, ``rating``, ``timestamp`` -> column.
        separator: For csv: the field separator.

    Raises:
        DataError: the path does not exist or its format cannot be recognised.
    """
    from ssl4rec.errors import ConfigError, DataError

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: not found")
    if format == "auto":
        format = _guess_format(path)
    columns = dict(columns or {})
    if format == "movielens":
        return load_movielens(path)
    if format == "recbole":
        return load_recbole_atomic(path)
    if format == "amazon":
        return load_amazon(path)
    if format == "amazon-unisrec":
        return load_amazon_unisrec(path)
    if format == "lastfm":
        return load_lastfm_hetrec(path)
    if format in ("csv", "parquet"):
        if "user" not in columns or "item" not in columns:
            raise ConfigError(
                f"{path}: data.columns must map 'user' and 'item' to column names for "
                f"{format} files; got {columns}"
            )
        return load_tabular(
            path,
            user_col=columns["user"],
            item_col=columns["item"],
            weight_col=columns.get("rating"),
            time_col=columns.get("timestamp"),
            sep=separator,
        )
    raise ConfigError(f"data.format must be one of {list(FORMATS)}; got {format!r}")


def _guess_format(path: Path) -> str:
    from ssl4rec.errors import DataError

    if path.is_file():
        name = path.name.lower()
        if name.endswith((".parquet", ".pq")):
            return "parquet"
        if name.endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz")):
            return "csv"
        if name.endswith((".json", ".jsonl", ".json.gz", ".jsonl.gz")):
            return "amazon"
        if name.endswith(".inter"):
            return "recbole"
    else:
        names = {p.name for p in path.iterdir()}
        if "user_artists.dat" in names:
            return "lastfm"
        if any(n.endswith(".inter") for n in names):
            if any(n.endswith(".item2index") for n in names):
                return "amazon-unisrec"
            return "recbole"
        if names & {"u.data", "ratings.dat", "ratings.csv"}:
            return "movielens"
    raise DataError(
        f"{path}: cannot tell the data format from the file names; set data.format to one of "
        f"{list(FORMATS)}"
    )
