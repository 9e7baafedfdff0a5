"""Shared file reading for the source loaders: checked, fast, with errors that name the line.

The happy path is one typed Polars read. Only when Polars fails (or leaves holes) do we
scan the text in Python to find the first bad line and say what was expected there.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from ssl4rec.errors import DataError

__all__ = [
    "check_file",
    "join_tags",
    "read_delimited",
    "read_delimited_if_present",
    "read_jsonl",
    "read_text",
    "sep_name",
    "split_year",
]

logger = logging.getLogger(__name__)

_SEP_NAMES = {"\t": "TAB", ",": "','", ";": "';'", "|": "'|'", "::": "'::'", " ": "SPACE"}
_CANDIDATE_SEPS = ("::", "\t", ",", ";", "|")
# numeric column dtypes -> the parser that must accept a value, and what it expects
_NUMBER_CHECKS: tuple[tuple[tuple[Any, ...], Any, str], ...] = (
    ((pl.Int64, pl.Int32), int, "an integer"),
    ((pl.Float64, pl.Float32), float, "a number"),
)


def sep_name(sep: str) -> str:
    """Human name of a field separator ("TAB", "','", ...)."""
    return _SEP_NAMES.get(sep, repr(sep))


def check_file(path: str | Path, *, what: str = "file") -> Path:
    """Return ``path`` if it is a non-empty file, else raise ``DataError`` naming it.

    Args:
        path: the file.
        what: what the file holds, for the message ("ratings file").

    Raises:
        DataError: the file is missing (the folder's content is listed) or empty.
    """
    path = Path(path)
    if not path.is_file():
        folder = path.parent
        if folder.is_dir():
            present = sorted(p.name for p in folder.iterdir())[:20]
            hint = f"; {folder} contains: {present}"
        else:
            hint = f"; folder {folder} does not exist"
        raise DataError(f"{path}: {what} not found{hint}")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: {what} is empty")
    return path


def read_bytes(path: Path) -> bytes:
    """File content, gunzipped when the name ends in ``.gz``."""
    if path.suffix == ".gz":
        try:
            with gzip.open(path, "rb") as fh:
                return fh.read()
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: not a valid gzip file ({exc})") from None
    return path.read_bytes()


def read_text(path: Path, *, encoding: str = "utf-8") -> str:
    """Decoded text of a (possibly gzipped) file; bad bytes are reported by line."""
    data = read_bytes(path)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _decode_error(path, data, exc, encoding) from None


def _decode_error(path: Path, data: bytes, exc: UnicodeDecodeError, encoding: str) -> DataError:
    """The error for undecodable bytes, naming the line they are on."""
    line = data.count(b"\n", 0, exc.start) + 1
    return DataError(
        f"{path}, line {line}: not valid {encoding} text ({exc.reason}); "
        "is the file in another encoding (e.g. latin-1)?"
    )


def _guess_sep(line: str) -> str | None:
    best, best_n = None, 1
    for sep in _CANDIDATE_SEPS:
        n = len(line.split(sep))
        if n > best_n:
            best, best_n = sep, n
    return best


def _split(line: str, sep: str, quote_char: str | None) -> list[str]:
    if quote_char is None:
        return line.split(sep)
    return next(csv.reader([line], delimiter=sep, quotechar=quote_char))


def read_delimited(
    path: Path,
    *,
    sep: str,
    columns: Mapping[str, pl.DataType | type[pl.DataType]],
    names: Sequence[str] | None = None,
    encoding: str = "utf-8",
    quote_char: str | None = None,
    what: str = "file",
) -> pl.DataFrame:
    """Read a delimited text file into a frame with checked, typed columns.

    Args:
        path: the file (``.gz`` is decompressed).
        sep: the field separator (may be several characters, e.g. ``"::"``).
        columns: the columns the caller needs, with their dtypes; other columns are
            read as strings.
        names: column names for a file without a header line; ``None`` means the
            first line is the header.
        encoding: text encoding (``"utf-8"`` or ``"latin-1"``).
        quote_char: CSV quote character, or ``None`` for files without quoting.
        what: what the file holds, for messages.

    Returns:
        The frame with every column of the file; ``columns`` cast to their dtypes.
        Lines that are entirely blank are dropped.

    Raises:
        DataError: missing or empty file, missing columns (the available ones are
            listed), wrong separator, or a malformed line (its number and what was
            expected).
    """
    check_file(path, what=what)
    raw = read_bytes(path)
    try:
        if encoding.lower().replace("-", "").replace("_", "") not in ("utf8", "ascii"):
            raw = raw.decode(encoding).encode("utf-8")
        else:
            raw.decode("utf-8")  # Polars would only say "invalid utf-8 sequence"
    except UnicodeDecodeError as exc:
        raise _decode_error(path, raw, exc, encoding) from None
    poll_sep = sep
    if len(sep) > 1:  # Polars takes one-byte separators; "::" files never contain TABs
        raw = raw.replace(sep.encode(), b"\t")
        poll_sep = "\t"
    first = raw.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")
    if not first.strip():
        raise DataError(
            f"{path}, line 1: empty line where the first {'record' if names else 'header'} was expected"
        )
    header = _split(first, poll_sep, quote_char)
    expected_names = list(names) if names is not None else header
    n_expected = len(expected_names)
    wanted = n_expected if names is not None else len(columns)
    if len(header) == 1 and wanted > 1:
        guess = _guess_sep(first)
        looks = f"; the line looks {sep_name(guess)}-separated" if guess else ""
        raise DataError(
            f"{path}, line 1: found a single field using separator {sep_name(sep)}, "
            f"expected {wanted} fields ({', '.join(columns)}){looks}"
        )
    if names is None:
        missing = [c for c in columns if c not in header]
        if missing:
            raise DataError(
                f"{path}: column {missing[0]!r} not found in the header; "
                f"available columns: {header}"
            )
    try:
        frame = pl.read_csv(
            io.BytesIO(raw),
            separator=poll_sep,
            has_header=names is None,
            new_columns=list(names) if names is not None else None,
            quote_char=quote_char,
            infer_schema=False,
            schema_overrides=None,
        )
    except pl.exceptions.PolarsError as exc:
        _diagnose(path, raw, poll_sep, sep, quote_char, expected_names, columns, names is None)
        raise DataError(f"{path}: cannot parse as {sep_name(sep)}-separated text ({exc})") from None
    if frame.width != n_expected:
        _diagnose(path, raw, poll_sep, sep, quote_char, expected_names, columns, names is None)
    frame = frame.filter(~pl.all_horizontal(pl.all().is_null()))
    try:
        frame = frame.with_columns(
            [pl.col(c).cast(dtype, strict=True) for c, dtype in columns.items() if dtype != pl.Utf8]
        )
        holes = frame.select(pl.col(list(columns)).null_count()).row(0)
    except pl.exceptions.PolarsError:
        holes = (1,)
    if any(holes):
        _diagnose(path, raw, poll_sep, sep, quote_char, expected_names, columns, names is None)
        raise DataError(f"{path}: a required column ({', '.join(columns)}) has empty values")
    return frame


def read_delimited_if_present(path: Path, **kwargs: Any) -> pl.DataFrame | None:
    """``read_delimited(path, **kwargs)`` for an optional side file; ``None`` when absent."""
    return read_delimited(path, **kwargs) if path.is_file() else None


def _diagnose(
    path: Path,
    raw: bytes,
    poll_sep: str,
    sep: str,
    quote_char: str | None,
    names: list[str],
    columns: Mapping[str, pl.DataType | type[pl.DataType]],
    has_header: bool,
) -> None:
    """Find the first malformed line and raise ``DataError`` about it (returns if none)."""
    text = raw.decode("utf-8", errors="replace")
    positions = {c: names.index(c) for c in columns if c in names}
    lines = text.splitlines()
    start = 1 if has_header else 0
    for lineno, line in enumerate(lines[start:], start=start + 1):
        if not line.strip():
            continue
        fields = _split(line, poll_sep, quote_char)
        if len(fields) != len(names):
            raise DataError(
                f"{path}, line {lineno}: expected {len(names)} {sep_name(sep)}-separated fields "
                f"({', '.join(names)}), found {len(fields)}: {line[:80]!r}"
            )
        for col, pos in positions.items():
            value = fields[pos]
            dtype = columns[col]
            if value == "":
                raise DataError(f"{path}, line {lineno}: column {col!r} is empty")
            for dtypes, parse, expected in _NUMBER_CHECKS:
                if dtype in dtypes:
                    try:
                        parse(value)
                    except ValueError:
                        raise DataError(
                            f"{path}, line {lineno}: column {col!r} must be {expected}, "
                            f"got {value!r}"
                        ) from None


def read_jsonl(
    path: Path,
    *,
    schema: Mapping[str, pl.DataType | type[pl.DataType]],
    required: Sequence[str],
    what: str = "file",
) -> pl.DataFrame:
    """Read JSON lines (``.gz`` transparently), keeping only the fields in ``schema``.

    Raises:
        DataError: missing/empty file, invalid JSON (with the line number), or a
            required field absent from a record (the record's fields are listed).
    """
    check_file(path, what=what)
    raw = read_bytes(path)
    try:
        frame = pl.read_ndjson(io.BytesIO(raw), schema=dict(schema))
    except pl.exceptions.PolarsError as exc:
        _diagnose_json(path, raw, schema, required)
        raise DataError(f"{path}: cannot parse as JSON lines ({exc})") from None
    if frame.height == 0:
        raise DataError(f"{path}: {what} has no records")
    holes = frame.select(pl.col(list(required)).null_count()).row(0)
    if any(holes):
        _diagnose_json(path, raw, schema, required)
    return frame


def _diagnose_json(
    path: Path,
    raw: bytes,
    schema: Mapping[str, pl.DataType | type[pl.DataType]],
    required: Sequence[str],
) -> None:
    for lineno, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{path}, line {lineno}: invalid JSON ({exc.msg} at column {exc.colno}); "
                "expected one JSON object per line"
            ) from None
        if not isinstance(record, dict):
            raise DataError(f"{path}, line {lineno}: expected a JSON object, got {line[:60]!r}")
        for field in required:
            if record.get(field) is None:
                raise DataError(
                    f"{path}, line {lineno}: field {field!r} missing; "
                    f"fields present: {sorted(record)}"
                )
        for field, dtype in schema.items():
            value = record.get(field)
            if value is None:
                continue
            if dtype in (pl.Float64, pl.Int64) and not isinstance(value, int | float):
                try:
                    float(value)
                except (TypeError, ValueError):
                    raise DataError(
                        f"{path}, line {lineno}: field {field!r} must be a number, got {value!r}"
                    ) from None


def split_year(title: str | None) -> tuple[str | None, int | None]:
    """``"Toy Story (1995)"`` -> ``("Toy Story", 1995)``; titles without a year are kept."""
    if title is None:
        return None, None
    stripped = title.strip()
    if stripped.endswith(")"):
        open_ = stripped.rfind("(")
        inside = stripped[open_ + 1 : -1].strip()
        year = inside[:4]
        if (
            open_ > 0
            and len(year) == 4
            and year.isdigit()
            and (len(inside) == 4 or inside[4] in "-–")
        ):
            return stripped[:open_].rstrip(), int(year)
    return stripped, None


def join_tags(item_table: pl.DataFrame, tags: pl.DataFrame) -> pl.DataFrame:
    """Left-join an ``item_id, tags`` frame onto ``item_table``; untagged items get ``[]``."""
    return item_table.join(tags, on="item_id", how="left").with_columns(
        pl.col("tags").fill_null(pl.lit([], dtype=pl.List(pl.Utf8)))
    )
