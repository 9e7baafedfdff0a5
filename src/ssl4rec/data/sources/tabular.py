"""Generic CSV / TSV / Parquet loader with an explicit column mapping."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from ssl4rec.data.interactions import Interactions
from ssl4rec.data.sources._io import check_file, read_delimited
from ssl4rec.data.sources.stream import ScanUnsupported, scan_events, scannable
from ssl4rec.errors import DataError

__all__ = ["load_tabular"]

logger = logging.getLogger(__name__)


def _default_sep(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    return "\t" if suffixes and suffixes[-1] in (".tsv", ".tab") else ","


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def _read(
    path: Path,
    *,
    columns: dict[str, pl.DataType | type[pl.DataType]],
    sep: str | None,
    encoding: str,
    what: str,
) -> pl.DataFrame:
    if _is_parquet(path):
        check_file(path, what=what)
        try:
            frame = pl.read_parquet(path)
        except pl.exceptions.PolarsError as exc:
            raise DataError(f"{path}: cannot read as Parquet ({exc})") from None
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise DataError(
                f"{path}: column {missing[0]!r} not found; available columns: {frame.columns}"
            )
        return frame
    return read_delimited(
        path,
        sep=sep if sep is not None else _default_sep(path),
        columns=columns,
        quote_char='"',
        encoding=encoding,
        what=what,
    )


def load_tabular(
    path: str | Path,
    *,
    user_col: str,
    item_col: str,
    weight_col: str | None = None,
    time_col: str | None = None,
    sep: str | None = None,
    encoding: str = "utf-8",
    items_path: str | Path | None = None,
    item_id_col: str | None = None,
    item_text_cols: Mapping[str, str] | Sequence[str] | None = None,
    item_list_cols: Mapping[str, str] | None = None,
    name: str | None = None,
) -> Interactions:
    """Load events from any CSV, TSV or Parquet file by column names.

    Args:
        path: the events file (``.csv``, ``.tsv``/``.tab``, ``.parquet``; ``.gz`` ok
            for text files). The first line of a text file is the header.
        user_col: column with user ids.
        item_col: column with item ids.
        weight_col: column with ratings or counts (numeric); ``None`` gives weight 1.
        time_col: column with integer timestamps; ``None`` gives 0 (file order).
        sep: field separator for text files; default from the extension (TAB for
            ``.tsv``/``.tab``, else ``,``).
        encoding: text encoding of text files.
        items_path: optional item file (same format rules) for the item table.
        item_id_col: id column of the item file; defaults to ``item_col``.
        item_text_cols: item-file columns to keep, as a list or a mapping
            ``{file column: table name}`` (e.g. ``{"name": "title"}``); default all.
        item_list_cols: ``{table column: separator}`` for columns holding lists
            such as ``"Action|Comedy"`` (e.g. ``{"genres": "|"}``).
        name: dataset name; defaults to the file name without extensions.

    Returns:
        The events in file order with an item table keyed by ``item_id``.

    Raises:
        DataError: missing/empty files, unknown columns (available ones listed),
            wrong separator, malformed lines.
    """
    path = Path(path)
    numeric: dict[str, type[pl.DataType]] = {c: pl.Float64 for c in (weight_col,) if c is not None}
    numeric.update({c: pl.Int64 for c in (time_col,) if c is not None})
    columns: dict[str, pl.DataType | type[pl.DataType]] = {user_col: pl.Utf8, item_col: pl.Utf8}
    columns.update(numeric)
    item_table = None
    if items_path is not None:
        items_path = Path(items_path)
        id_col = item_id_col or item_col
        if item_text_cols is None:
            mapping: dict[str, str] | None = None
        elif isinstance(item_text_cols, Mapping):
            mapping = dict(item_text_cols)
        else:
            mapping = {c: c for c in item_text_cols}
        wanted: dict[str, pl.DataType | type[pl.DataType]] = {id_col: pl.Utf8}
        wanted.update({c: pl.Utf8 for c in mapping or {}})
        items = _read(items_path, columns=wanted, sep=sep, encoding=encoding, what="item file")
        if mapping is None:
            mapping = {c: c for c in items.columns if c != id_col}
        item_table = items.select(
            pl.col(id_col).cast(pl.Utf8).alias("item_id"),
            *(pl.col(src).alias(dst) for src, dst in mapping.items() if src != id_col),
        )
        for col, list_sep in (item_list_cols or {}).items():
            if col not in item_table.columns:
                raise DataError(
                    f"{items_path}: list column {col!r} not in the item table; "
                    f"available: {item_table.columns}"
                )
            item_table = item_table.with_columns(
                pl.col(col)
                .cast(pl.Utf8)
                .str.split(list_sep)
                .list.eval(pl.element().filter(pl.element() != ""))
            )
    separator = sep if sep is not None else _default_sep(path)
    if path.is_file() and scannable(path, separator, encoding):
        try:  # large files: lazy scan, streaming collect, integer codes
            return scan_events(
                path,
                user_col=user_col,
                item_col=item_col,
                weight_col=weight_col,
                time_col=time_col,
                sep=separator,
                item_table=item_table,
                name=name or path.name.split(".")[0],
            )
        except ScanUnsupported as exc:
            logger.debug("scan of %s failed (%s); the eager reader explains", path, exc)
    events = _read(path, columns=columns, sep=sep, encoding=encoding, what="events file")
    logger.info("tabular events from %s: %d rows", path, events.height)
    return Interactions.from_frame(
        events,
        user_col=user_col,
        item_col=item_col,
        weight_col=weight_col,
        time_col=time_col,
        item_table=item_table,
        name=name or path.name.split(".")[0],
        source=str(path),
    )
