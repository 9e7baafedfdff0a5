"""Amazon review loaders: the 2018 and 2023 dumps, and the UniSRec-prepared folders.

- Amazon Review Data 2018 (Ni, Li & McAuley, EMNLP 2019),
  https://nijianmo.github.io/amazon/ : reviews as JSON lines with ``reviewerID``,
  ``asin``, ``overall``, ``unixReviewTime`` (seconds); metadata JSON lines with
  ``asin``, ``title``, ``brand``, ``category`` (list), ``description`` (list).
- Amazon Reviews 2023 (Hou et al., 2024), https://amazon-reviews-2023.github.io/ :
  reviews JSONL with ``user_id``, ``parent_asin``, ``rating``, ``timestamp`` (ms);
  metadata with ``parent_asin``, ``title``, ``store``, ``categories``,
  ``description`` (list), ``features`` (list).
- UniSRec (Hou et al., KDD 2022) RecBole-style folders: ``X.text``,
  ``X.item2index``, ``X.user2index``, ``X.{train,valid,test}.inter`` whose rows hold
  ``item_id_list`` (the last <= 50 items before the target) and the target ``item_id``.

``.gz`` files are decompressed transparently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from ssl4rec.data.interactions import IdVocab, Interactions
from ssl4rec.data.sources._io import check_file, read_delimited, read_jsonl, read_text
from ssl4rec.data.splits import Split
from ssl4rec.errors import DataError

__all__ = ["load_amazon", "load_amazon_unisrec", "load_amazon_unisrec_split"]

logger = logging.getLogger(__name__)

_LIST_STR = pl.List(pl.Utf8)


@dataclass(frozen=True)
class _Fields:
    """Field names of one dump version (reviews, then metadata)."""

    user: str
    item: str
    rating: str
    time: str
    time_in_ms: bool
    brand: str
    categories: str
    more_lists: tuple[str, ...] = ()
    """Further list fields of the metadata, kept as they are."""


_VERSIONS = {
    "2018": _Fields(
        user="reviewerID",
        item="asin",
        rating="overall",
        time="unixReviewTime",
        time_in_ms=False,
        brand="brand",
        categories="category",
    ),
    "2023": _Fields(
        user="user_id",
        item="parent_asin",
        rating="rating",
        time="timestamp",
        time_in_ms=True,
        brand="store",
        categories="categories",
        more_lists=("features",),
    ),
}


def _detect_version(path: Path) -> str:
    """Return ``"2018"`` or ``"2023"`` from the field names of the first record."""
    text = read_text(check_file(path, what="Amazon reviews file"))
    first = next((line for line in text.splitlines() if line.strip()), "")
    if '"reviewerID"' in first:
        return "2018"
    if '"parent_asin"' in first and '"user_id"' in first:
        return "2023"
    raise DataError(
        f"{path}, line 1: not an Amazon reviews record; expected fields reviewerID/asin/"
        f"overall/unixReviewTime (2018) or user_id/parent_asin/rating/timestamp (2023); "
        f"got {first[:120]!r}"
    )


def load_amazon(
    reviews: str | Path,
    *,
    meta: str | Path | None = None,
    name: str | None = None,
) -> Interactions:
    """Load an Amazon reviews file (2018 or 2023 format, detected) with optional metadata.

    Args:
        reviews: reviews JSON lines (``.json``, ``.jsonl``, optionally ``.gz``).
        meta: the matching metadata JSON lines, for the item table.
        name: dataset name; defaults to the reviews file name without extensions.

    Returns:
        Star ratings as weights and timestamps in seconds (2023's milliseconds are
        divided by 1000). Item ids are ``asin`` (2018) or ``parent_asin`` (2023); the
        item table holds ``title``, ``brand`` (2023: ``store``), ``categories`` (list),
        ``description`` (the description list joined by spaces) and, for 2023,
        ``features`` (list).

    Raises:
        DataError: missing/empty files, invalid JSON (with line), missing fields.
    """
    path = Path(reviews)
    version = _detect_version(path)
    fields = _VERSIONS[version]
    name = name or path.name.split(".")[0]
    events = read_jsonl(
        path,
        schema={
            fields.user: pl.Utf8,
            fields.item: pl.Utf8,
            fields.rating: pl.Float64,
            fields.time: pl.Int64,
        },
        required=(fields.user, fields.item, fields.rating, fields.time),
        what=f"Amazon {version} reviews file",
    )
    if fields.time_in_ms:
        events = events.with_columns(pl.col(fields.time) // 1000)
    item_table = _read_meta(Path(meta), version) if meta is not None else None
    logger.info("Amazon %s reviews: %d events from %s", version, events.height, path)
    return Interactions.from_frame(
        events,
        user_col=fields.user,
        item_col=fields.item,
        weight_col=fields.rating,
        time_col=fields.time,
        item_table=item_table,
        name=name,
        source=str(path),
    )


def _read_meta(path: Path, version: str) -> pl.DataFrame:
    """The item table from a metadata file.

    Columns: ``item_id``, ``title``, ``brand``, ``categories``, ``description``
    (joined by spaces), and 2023's ``features``.
    """
    fields = _VERSIONS[version]
    frame = read_jsonl(
        path,
        schema={
            fields.item: pl.Utf8,
            "title": pl.Utf8,
            fields.brand: pl.Utf8,
            fields.categories: _LIST_STR,
            "description": _LIST_STR,
            **{col: _LIST_STR for col in fields.more_lists},
        },
        required=(fields.item,),
        what=f"Amazon {version} metadata file",
    )
    return frame.select(
        pl.col(fields.item).alias("item_id"),
        "title",
        pl.col(fields.brand).alias("brand"),
        pl.col(fields.categories).alias("categories"),
        pl.col("description").list.join(" ").alias("description"),
        *fields.more_lists,
    )


# ---------------------------------------------------------------------- UniSRec folders
def _unisrec_prefix(folder: Path) -> Path:
    if not folder.is_dir():
        raise DataError(f"{folder}: UniSRec dataset folder not found")
    trains = sorted(folder.glob("*.train.inter"))
    if len(trains) != 1:
        present = sorted(p.name for p in folder.iterdir())[:20]
        raise DataError(
            f"{folder}: expected exactly one X.train.inter (with X.valid.inter, X.test.inter, "
            f"X.item2index, X.user2index, X.text); found {present}"
        )
    return folder / trains[0].name[: -len(".train.inter")]


def _read_index(path: Path, what: str) -> list[str]:
    """``raw_id<TAB>index`` lines -> raw ids by index (indices must be 0..n-1)."""
    frame = read_delimited(
        path,
        sep="\t",
        names=["raw", "index"],
        columns={"raw": pl.Utf8, "index": pl.Int64},
        what=what,
    )
    index = frame.get_column("index").to_numpy()
    if not np.array_equal(np.sort(index), np.arange(len(index))):
        raise DataError(f"{path}: indices must be 0..{len(index) - 1} without gaps or repeats")
    raws = np.empty(len(index), dtype=object)
    raws[index] = frame.get_column("raw").to_list()
    return list(raws)


def _read_inter(path: Path) -> tuple[list[str], list[list[str]], list[str]]:
    frame = read_delimited(
        path,
        sep="\t",
        columns={
            "user_id:token": pl.Utf8,
            "item_id_list:token_seq": pl.Utf8,
            "item_id:token": pl.Utf8,
        },
        what="UniSRec interaction file",
    )
    return (
        frame.get_column("user_id:token").to_list(),
        [s.split(" ") for s in frame.get_column("item_id_list:token_seq").to_list()],
        frame.get_column("item_id:token").to_list(),
    )


def _reconstruct(prefix: Path) -> dict[str, list[str]]:
    """Per user (index string) the full item sequence: train prefixes, valid, test."""
    rows: dict[str, list[tuple[list[str], str, Path, int]]] = {}
    parts: dict[str, list[str]] = {}
    for part in ("train", "valid", "test"):
        path = Path(f"{prefix}.{part}.inter")
        users, lists, targets = _read_inter(path)
        per_user: dict[str, list[tuple[list[str], str, Path, int]]] = {}
        for line, (u, hist, t) in enumerate(zip(users, lists, targets, strict=True), start=2):
            per_user.setdefault(u, []).append((hist, t, path, line))
        for u, user_rows in per_user.items():
            if part == "train":
                # Train rows list prefixes of one sequence; the file may give them
                # longest first (UniSRec does) or shortest first.
                if len(user_rows[0][0]) > len(user_rows[-1][0]):
                    user_rows.reverse()
            elif len(user_rows) != 1:
                raise DataError(
                    f"{path}, line {user_rows[1][3]}: user {u} has a second row; "
                    f"{part} must hold one row per user"
                )
            rows.setdefault(u, []).extend(user_rows)
            parts.setdefault(u, []).append(part)
    for u, seen in parts.items():
        for part in ("valid", "test"):
            if part not in seen:
                raise DataError(f"{prefix}.{part}.inter: no row for user {u}; every user needs one")
    sequences: dict[str, list[str]] = {}
    for u, user_rows in rows.items():
        seq = list(user_rows[0][0])
        for hist, target, path, line in user_rows:
            pos = len(seq)
            if seq[pos - len(hist) :] != hist:
                raise DataError(
                    f"{path}, line {line}: item_id_list of user {u} does not continue the "
                    "sequence built from the earlier rows (train rows must be prefixes of "
                    "one sequence, then valid, then test)"
                )
            seq.append(target)
        sequences[u] = seq
    return sequences


def _unisrec_data(folder: str | Path, name: str | None) -> tuple[Interactions, np.ndarray]:
    folder = Path(folder)
    prefix = _unisrec_prefix(folder)
    item_ids = _read_index(Path(f"{prefix}.item2index"), "UniSRec item index")
    user_ids = _read_index(Path(f"{prefix}.user2index"), "UniSRec user index")
    sequences = _reconstruct(prefix)
    users: list[str] = []
    items: list[str] = []
    positions: list[int] = []
    labels: list[int] = []
    try:
        order = sorted(sequences, key=int)
    except ValueError:
        raise DataError(f"{prefix}.*.inter: user_id values must be user2index indices") from None
    for u in order:
        seq = sequences[u]
        n = len(seq)
        users.extend([u] * n)
        items.extend(seq)
        positions.extend(range(n))
        labels.extend([0] * (n - 2) + [1, 2])
    try:
        item_index = np.asarray(items, dtype=np.int64)
        user_index = np.asarray(users, dtype=np.int64)
    except ValueError:
        raise DataError(f"{prefix}.*.inter: item ids must be item2index indices") from None
    for idx, vocab, what in ((item_index, item_ids, "item"), (user_index, user_ids, "user")):
        if idx.size and (idx.min() < 0 or idx.max() >= len(vocab)):
            raise DataError(
                f"{prefix}: {what} index {int(idx.max())} is outside the {what}2index "
                f"range 0..{len(vocab) - 1}"
            )
    item_table = None
    text_path = Path(f"{prefix}.text")
    if text_path.is_file():
        text = read_delimited(
            text_path,
            sep="\t",
            columns={"item_id:token": pl.Utf8, "text:token_seq": pl.Utf8},
            what="UniSRec item text file",
        ).select(
            pl.col("item_id:token").alias("item_id"),
            pl.col("text:token_seq").str.strip_chars().alias("description"),
        )
        by_index = pl.DataFrame({"item_id": pl.Series(item_ids, dtype=pl.Utf8)})
        item_table = by_index.join(
            text.unique("item_id", keep="first", maintain_order=True),
            on="item_id",
            how="left",
            maintain_order="left",
        )
    # Indices are the provided ones, so results line up with UniSRec/RecBole runs.
    data = Interactions(
        users=user_index,
        items=item_index,
        weights=np.ones(len(item_index), dtype=np.float32),
        timestamps=np.asarray(positions, dtype=np.int64),
        user_vocab=IdVocab(user_ids, name="user"),
        item_vocab=IdVocab(item_ids, name="item"),
        item_table=item_table,
        name=name or prefix.name,
    )
    logger.info("UniSRec %s: %s", prefix.name, data)
    return data, np.asarray(labels, dtype=np.int8)


def load_amazon_unisrec(folder: str | Path, *, name: str | None = None) -> Interactions:
    """Load a UniSRec-prepared Amazon folder as events rebuilt from the sequences.

    Each user's full sequence is the first train row's ``item_id_list`` followed by
    the targets of the train rows (shortest prefix first), then valid, then test.
    Every row is checked to continue that sequence.

    Args:
        folder: the folder with ``X.text``, ``X.item2index``, ``X.user2index`` and
            ``X.{train,valid,test}.inter``.
        name: dataset name; defaults to ``X``.

    Returns:
        Implicit events (weight 1) with timestamps = position in the user's sequence
        (0, 1, ...), raw ASINs / reviewer ids as ids, vocabulary indices equal to the
        provided ``item2index``/``user2index`` indices, events user by user, and an
        item table whose ``description`` is the provided text (title, categories and
        brand joined by ". ").

    Raises:
        DataError: missing files or rows that do not form one sequence per user.
    """
    return _unisrec_data(folder, name)[0]


def load_amazon_unisrec_split(folder: str | Path, *, name: str | None = None) -> Split:
    """The provided leave-one-out split of a UniSRec folder.

    Returns:
        ``Split(train, valid, test, protocol="loo")`` over one id space: per user the
        last item is test, the one before valid, the rest train (exactly the rows of
        ``X.{valid,test}.inter``).
    """
    data, labels = _unisrec_data(folder, name)
    return Split(
        train=data.select(np.flatnonzero(labels == 0)),
        valid=data.select(np.flatnonzero(labels == 1)),
        test=data.select(np.flatnonzero(labels == 2)),
        protocol="loo",
    )
