"""Memory-bounded reading of large event files: Polars lazy scans, streaming collects.

``scan_events`` reads only the needed columns of a CSV/TSV or Parquet file with
``pl.scan_csv`` / ``pl.scan_parquet``, finds the user and item vocabularies (ids in
order of first appearance, as ``Interactions.from_frame``), and encodes every event
to integer codes in a streaming join, so that what stays in memory is the coded
events (int32 user, int32 item, float32 weight, int64 time: 20 bytes per event)
plus the distinct ids; no Python object is made per event, and the raw text is
never held whole. ``load_tabular`` reads events through it whenever the file allows
(single-byte separator, UTF-8, not gzipped) and falls back to the checked eager
reader, which explains bad input line by line, when the scan fails.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl

from ssl4rec.data.interactions import Interactions

__all__ = ["ScanUnsupported", "scan_events", "scannable"]

logger = logging.getLogger(__name__)


class ScanUnsupported(Exception):
    """The file or its content needs the eager reader (which explains the problem)."""


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def scannable(path: Path, sep: str, encoding: str) -> bool:
    """Whether ``scan_events`` can read ``path`` (else use the eager reader)."""
    if _is_parquet(path):
        return True
    utf8 = encoding.lower().replace("-", "").replace("_", "") in ("utf8", "ascii")
    return utf8 and len(sep.encode()) == 1 and path.suffix.lower() != ".gz"


def scan_events(
    path: str | Path,
    *,
    user_col: str,
    item_col: str,
    weight_col: str | None = None,
    time_col: str | None = None,
    sep: str = ",",
    item_table: pl.DataFrame | None = None,
    name: str | None = None,
) -> Interactions:
    """Events of a CSV/TSV/Parquet file as ``Interactions``, read in bounded memory.

    Args:
        path: the events file; the first line of a text file is the header.
        user_col: column with user ids.
        item_col: column with item ids.
        weight_col: numeric weight column; ``None`` gives 1.
        time_col: integer time column; ``None`` gives 0 (file order).
        sep: separator of text files (one byte).
        item_table: optional item table keyed by ``item_id``.
        name: dataset name (default: the file name without extensions).

    Raises:
        ScanUnsupported: a column is missing, empty or not numeric, the file is
            empty, or Polars cannot parse it; the eager reader then names the line.
    """
    path = Path(path)
    if _is_parquet(path):
        lazy = pl.scan_parquet(path)
    else:
        lazy = pl.scan_csv(path, separator=sep, quote_char='"', infer_schema=False)
    columns = {"u": user_col, "i": item_col}
    exprs = [pl.col(user_col).cast(pl.Utf8).alias("u"), pl.col(item_col).cast(pl.Utf8).alias("i")]
    if weight_col is not None:
        columns["w"] = weight_col
        exprs.append(pl.col(weight_col).cast(pl.Float64, strict=True).cast(pl.Float32).alias("w"))
    if time_col is not None:
        columns["t"] = time_col
        exprs.append(pl.col(time_col).cast(pl.Float64, strict=True).cast(pl.Int64).alias("t"))
    events = lazy.select(exprs)
    try:
        checks, user_ids, item_ids = pl.collect_all(
            [
                events.select(pl.len().alias("n"), *(pl.col(c).null_count() for c in columns)),
                events.select(pl.col("u").unique(maintain_order=True)),
                events.select(pl.col("i").unique(maintain_order=True)),
            ],
            engine="streaming",
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ScanUnsupported(str(exc)) from exc
    if checks["n"][0] == 0 or any(checks[c][0] for c in columns):
        raise ScanUnsupported("empty file or empty values")
    user_lookup = pl.LazyFrame(
        {"u": user_ids["u"], "user": np.arange(user_ids.height, dtype=np.int32)}
    )
    item_lookup = pl.LazyFrame(
        {"i": item_ids["i"], "item": np.arange(item_ids.height, dtype=np.int32)}
    )
    coded = (
        events.join(user_lookup, on="u", how="left", maintain_order="left")
        .join(item_lookup, on="i", how="left", maintain_order="left")
        .select(["user", "item", *(c for c in ("w", "t") if c in columns)])
    )
    try:
        frame = coded.collect(engine="streaming")
    except pl.exceptions.PolarsError as exc:
        raise ScanUnsupported(str(exc)) from exc
    n = frame.height
    weights = frame["w"].to_numpy() if "w" in columns else np.ones(n, dtype=np.float32)
    times = frame["t"].to_numpy() if "t" in columns else np.zeros(n, dtype=np.int64)
    logger.info(
        "scanned %s: %d events, %d users, %d items", path, n, user_ids.height, item_ids.height
    )
    return Interactions.from_codes(
        users=frame["user"].to_numpy(),
        items=frame["item"].to_numpy(),
        weights=weights,
        timestamps=times,
        user_ids=user_ids["u"],
        item_ids=item_ids["i"],
        item_table=item_table,
        name=name or path.name.split(".")[0],
    )
