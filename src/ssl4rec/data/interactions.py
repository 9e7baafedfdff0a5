"""The one in-memory dataset type: ``Interactions`` plus ``IdVocab``.

Events are kept in source order. Time order is always a *stable* sort by timestamp,
so events with equal timestamps keep the order in which the source listed them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from ssl4rec.errors import DataError, UnknownIdError

__all__ = ["IdVocab", "Interactions"]


class IdVocab:
    """Bidirectional map between raw ids (as strings) and dense indices ``0..n-1``.

    Raw ids are stored as strings so that ``196`` and ``"196"`` name the same user,
    whatever type the source file gave them.
    """

    def __init__(self, ids: Iterable[Any], *, name: str = "id") -> None:
        self.name = name
        self._ids = np.asarray([str(i) for i in ids], dtype=object)
        self._index = {raw: i for i, raw in enumerate(self._ids)}
        if len(self._index) != len(self._ids):
            seen: set[str] = set()
            dup = next(i for i in self._ids if i in seen or seen.add(i))  # type: ignore[func-returns-value]
            raise DataError(f"IdVocab({name}): duplicate id {dup!r}")

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, raw: object) -> bool:
        return str(raw) in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdVocab) and np.array_equal(self._ids, other._ids)

    def __hash__(self) -> int:
        return hash((self.name, len(self._ids)))

    def __repr__(self) -> str:
        return f"IdVocab({self.name}, n={len(self)})"

    @property
    def ids(self) -> np.ndarray:
        """Raw ids as an object array of strings, position = index."""
        return self._ids

    def index(self, raw: object) -> int:
        """Index of one raw id.

        Raises:
            UnknownIdError: naming the id and the vocabulary.
        """
        try:
            return self._index[str(raw)]
        except KeyError:
            raise UnknownIdError(f"unknown {self.name} id {raw!r}") from None

    def indices(self, raws: Iterable[object]) -> np.ndarray:
        """Indices (int32) of many raw ids; unknown ones raise ``UnknownIdError``."""
        out = []
        missing = []
        for raw in raws:
            i = self._index.get(str(raw))
            if i is None:
                missing.append(raw)
            else:
                out.append(i)
        if missing:
            shown = ", ".join(repr(m) for m in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise UnknownIdError(f"unknown {self.name} id(s): {shown}{more}")
        return np.asarray(out, dtype=np.int32)

    def raw(self, indices: Iterable[int] | np.ndarray) -> np.ndarray:
        """Raw ids for indices."""
        return self._ids[np.asarray(indices, dtype=np.int64)]

    def to_list(self) -> list[str]:
        """Raw ids in index order."""
        return [str(i) for i in self._ids]


@dataclass(frozen=True, eq=False)
class Interactions:
    """User–item events over fixed id vocabularies.

    Attributes:
        users: int32 user indices, one per event.
        items: int32 item indices, one per event.
        weights: float32 event weights (1.0 for implicit feedback, else rating/count).
        timestamps: int64 event times (seconds, or any monotone unit; 0 if unknown).
        user_vocab: raw user id <-> index.
        item_vocab: raw item id <-> index.
        item_table: optional Polars frame with one row per item index, in index order;
            column ``item_id`` plus text fields (``title``, ``year``, ``genres``,
            ``tags``, ``description``...) when the source has them.
        user_table: optional Polars frame with one row per user index.
        name: a short dataset name used in reports.
    """

    users: np.ndarray
    items: np.ndarray
    weights: np.ndarray
    timestamps: np.ndarray
    user_vocab: IdVocab
    item_vocab: IdVocab
    item_table: pl.DataFrame | None = None
    user_table: pl.DataFrame | None = None
    name: str = "data"

    def __post_init__(self) -> None:
        n = len(self.users)
        for attr, dtype in (
            ("users", np.int32),
            ("items", np.int32),
            ("weights", np.float32),
            ("timestamps", np.int64),
        ):
            arr = np.ascontiguousarray(getattr(self, attr), dtype=dtype)
            if arr.ndim != 1 or len(arr) != n:
                raise DataError(
                    f"Interactions.{attr} must be 1-D with {n} entries; got shape {arr.shape}"
                )
            arr.setflags(write=False)
            object.__setattr__(self, attr, arr)
        if n:
            if self.users.min() < 0 or self.users.max() >= len(self.user_vocab):
                raise DataError(
                    f"Interactions.users must be in [0, {len(self.user_vocab)}); "
                    f"got range [{self.users.min()}, {self.users.max()}]"
                )
            if self.items.min() < 0 or self.items.max() >= len(self.item_vocab):
                raise DataError(
                    f"Interactions.items must be in [0, {len(self.item_vocab)}); "
                    f"got range [{self.items.min()}, {self.items.max()}]"
                )
        if self.item_table is not None and self.item_table.height != len(self.item_vocab):
            raise DataError(
                f"Interactions.item_table must have one row per item ({len(self.item_vocab)}); "
                f"got {self.item_table.height}"
            )
        if self.user_table is not None and self.user_table.height != len(self.user_vocab):
            raise DataError(
                f"Interactions.user_table must have one row per user ({len(self.user_vocab)}); "
                f"got {self.user_table.height}"
            )

    # ------------------------------------------------------------------ building
    @classmethod
    def from_frame(
        cls,
        frame: pl.DataFrame,
        *,
        user_col: str = "user_id",
        item_col: str = "item_id",
        weight_col: str | None = None,
        time_col: str | None = None,
        item_table: pl.DataFrame | None = None,
        user_table: pl.DataFrame | None = None,
        name: str = "data",
        source: str = "frame",
    ) -> Interactions:
        """Build from a Polars frame of events, keeping the frame's row order.

        Vocabularies hold the ids that occur in events, in order of first appearance.
        ``item_table``/``user_table`` (keyed by ``item_id``/``user_id`` as strings) are
        aligned to the vocabularies; ids missing from them get null fields.

        Raises:
            DataError: naming ``source`` and the missing column.
        """
        needed = [c for c in (user_col, item_col, weight_col, time_col) if c is not None]
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise DataError(
                f"{source}: column {missing[0]!r} not found; available columns: {frame.columns}"
            )
        if frame.height == 0:
            raise DataError(f"{source}: no interactions (the input is empty)")
        users_raw = frame.get_column(user_col).cast(pl.Utf8)
        items_raw = frame.get_column(item_col).cast(pl.Utf8)
        if users_raw.null_count() or items_raw.null_count():
            col = user_col if users_raw.null_count() else item_col
            row = int(frame.get_column(col).is_null().arg_max() or 0)
            raise DataError(f"{source}: column {col!r} has an empty value at row {row + 1}")
        user_ids = users_raw.unique(maintain_order=True)
        item_ids = items_raw.unique(maintain_order=True)
        user_vocab = IdVocab(user_ids.to_list(), name="user")
        item_vocab = IdVocab(item_ids.to_list(), name="item")
        users = _encode(users_raw, user_ids)
        items = _encode(items_raw, item_ids)
        if weight_col is not None:
            weights = _numeric(frame, weight_col, source, np.float32)
        else:
            weights = np.ones(frame.height, dtype=np.float32)
        if time_col is not None:
            timestamps = _numeric(frame, time_col, source, np.int64)
        else:
            timestamps = np.zeros(frame.height, dtype=np.int64)
        return cls(
            users=users,
            items=items,
            weights=weights,
            timestamps=timestamps,
            user_vocab=user_vocab,
            item_vocab=item_vocab,
            item_table=_align(item_table, item_vocab, "item_id"),
            user_table=_align(user_table, user_vocab, "user_id"),
            name=name,
        )

    @classmethod
    def from_codes(
        cls,
        *,
        users: np.ndarray,
        items: np.ndarray,
        weights: np.ndarray,
        timestamps: np.ndarray,
        user_ids: pl.Series,
        item_ids: pl.Series,
        item_table: pl.DataFrame | None = None,
        name: str = "data",
    ) -> Interactions:
        """Build from integer-coded events and the raw ids of the codes (code = position).

        ``ssl4rec.data.sources.stream`` codes large files this way, without a frame of
        raw ids per event; ``item_table`` is aligned as in ``from_frame``.
        """
        item_vocab = IdVocab(item_ids.cast(pl.Utf8).to_list(), name="item")
        return cls(
            users=users,
            items=items,
            weights=weights,
            timestamps=timestamps,
            user_vocab=IdVocab(user_ids.cast(pl.Utf8).to_list(), name="user"),
            item_vocab=item_vocab,
            item_table=_align(item_table, item_vocab, "item_id"),
            name=name,
        )

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return len(self.users)

    def __repr__(self) -> str:
        return (
            f"Interactions(name={self.name!r}, events={len(self)}, users={self.num_users}, "
            f"items={self.num_items})"
        )

    @property
    def num_users(self) -> int:
        """Size of the user vocabulary (users without events included)."""
        return len(self.user_vocab)

    @property
    def num_items(self) -> int:
        """Size of the item vocabulary (items without events included)."""
        return len(self.item_vocab)

    def to_frame(self, *, raw_ids: bool = False) -> pl.DataFrame:
        """Events as a frame (indices, or raw ids with ``raw_ids=True``)."""
        if raw_ids:
            u: Any = self.user_vocab.raw(self.users)
            i: Any = self.item_vocab.raw(self.items)
            u, i = pl.Series(u.tolist(), dtype=pl.Utf8), pl.Series(i.tolist(), dtype=pl.Utf8)
        else:
            u, i = self.users, self.items
        return pl.DataFrame(
            {"user": u, "item": i, "weight": self.weights, "timestamp": self.timestamps}
        )

    # ------------------------------------------------------------------ derived views
    @cached_property
    def time_order(self) -> np.ndarray:
        """Event positions sorted by (user, timestamp); stable, so ties keep file order."""
        by_time = np.argsort(self.timestamps, kind="stable")
        by_user = np.argsort(self.users[by_time], kind="stable")
        return by_time[by_user]

    @cached_property
    def user_counts(self) -> np.ndarray:
        """Events per user index, int64 of length ``num_users``."""
        return np.bincount(self.users, minlength=self.num_users)

    @cached_property
    def item_counts(self) -> np.ndarray:
        """Events per item index, int64 of length ``num_items``."""
        return np.bincount(self.items, minlength=self.num_items)

    @cached_property
    def user_offsets(self) -> np.ndarray:
        """``time_order[user_offsets[u]:user_offsets[u+1]]`` are user u's events."""
        return np.concatenate([[0], np.cumsum(self.user_counts)])

    def csr(self, *, binary: bool = True) -> sp.csr_matrix:
        """User × item matrix (float32). Duplicate pairs are summed, then binarized."""
        return self._csr_binary if binary else self._csr_weighted

    @cached_property
    def _csr_weighted(self) -> sp.csr_matrix:
        mat = sp.csr_matrix(
            (self.weights, (self.users, self.items)),
            shape=(self.num_users, self.num_items),
            dtype=np.float32,
        )
        mat.sum_duplicates()
        return mat

    @cached_property
    def _csr_binary(self) -> sp.csr_matrix:
        mat = sp.csr_matrix(
            (np.ones(len(self), dtype=np.float32), (self.users, self.items)),
            shape=(self.num_users, self.num_items),
            dtype=np.float32,
        )
        mat.sum_duplicates()
        mat.data[:] = 1.0
        return mat

    def sequences(self) -> list[np.ndarray]:
        """Per-user item indices in time order (int32), one array per user index."""
        return self._sequences

    @cached_property
    def _sequences(self) -> list[np.ndarray]:
        ordered = self.items[self.time_order]
        offs = self.user_offsets
        return [ordered[offs[u] : offs[u + 1]] for u in range(self.num_users)]

    @cached_property
    def active_users(self) -> np.ndarray:
        """User indices with at least one event here (int32, sorted)."""
        return np.flatnonzero(self.user_counts > 0).astype(np.int32)

    # ------------------------------------------------------------------ subsets
    def select(self, mask_or_index: np.ndarray) -> Interactions:
        """Events selected by a boolean mask or an index array, same vocabularies.

        Positions keep their relative source order when given as a mask or as
        sorted indices.
        """
        sel = np.asarray(mask_or_index)
        return Interactions(
            users=self.users[sel],
            items=self.items[sel],
            weights=self.weights[sel],
            timestamps=self.timestamps[sel],
            user_vocab=self.user_vocab,
            item_vocab=self.item_vocab,
            item_table=self.item_table,
            user_table=self.user_table,
            name=self.name,
        )

    def concat(self, *others: Interactions) -> Interactions:
        """Events of ``self`` followed by ``others`` (which must share vocabularies)."""
        for o in others:
            if o.user_vocab is not self.user_vocab and o.user_vocab != self.user_vocab:
                raise DataError("Interactions.concat: user vocabularies differ")
            if o.item_vocab is not self.item_vocab and o.item_vocab != self.item_vocab:
                raise DataError("Interactions.concat: item vocabularies differ")
        parts = (self, *others)
        return Interactions(
            users=np.concatenate([p.users for p in parts]),
            items=np.concatenate([p.items for p in parts]),
            weights=np.concatenate([p.weights for p in parts]),
            timestamps=np.concatenate([p.timestamps for p in parts]),
            user_vocab=self.user_vocab,
            item_vocab=self.item_vocab,
            item_table=self.item_table,
            user_table=self.user_table,
            name=self.name,
        )

    def reindexed(self) -> Interactions:
        """Same events with vocabularies shrunk to the ids that occur (order kept)."""
        used_u = np.flatnonzero(self.user_counts > 0)
        used_i = np.flatnonzero(self.item_counts > 0)
        if len(used_u) == self.num_users and len(used_i) == self.num_items:
            return self
        umap = np.full(self.num_users, -1, dtype=np.int64)
        umap[used_u] = np.arange(len(used_u))
        imap = np.full(self.num_items, -1, dtype=np.int64)
        imap[used_i] = np.arange(len(used_i))
        item_table = self.item_table[used_i.tolist()] if self.item_table is not None else None
        user_table = self.user_table[used_u.tolist()] if self.user_table is not None else None
        return Interactions(
            users=umap[self.users],
            items=imap[self.items],
            weights=self.weights,
            timestamps=self.timestamps,
            user_vocab=IdVocab(self.user_vocab.ids[used_u], name="user"),
            item_vocab=IdVocab(self.item_vocab.ids[used_i], name="item"),
            item_table=item_table,
            user_table=user_table,
            name=self.name,
        )

    # ------------------------------------------------------------------ item text
    def item_titles(self) -> list[str]:
        """Item titles by index (raw id where the table has no title)."""
        ids = self.item_vocab.to_list()
        if self.item_table is None or "title" not in self.item_table.columns:
            return ids
        titles = self.item_table.get_column("title").to_list()
        return [t if t else i for t, i in zip(titles, ids, strict=True)]

    def item_genres(self) -> list[list[str]] | None:
        """Genres (or tags) per item index, if the item table has them."""
        if self.item_table is None:
            return None
        for col in ("genres", "tags", "categories"):
            if col in self.item_table.columns:
                values = self.item_table.get_column(col).to_list()
                return [list(v) if v is not None else [] for v in values]
        return None

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write events (Parquet), vocabularies (JSON) and tables (Parquet)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.to_frame().write_parquet(directory / "events.parquet")
        meta = {
            "name": self.name,
            "users": self.user_vocab.to_list(),
            "items": self.item_vocab.to_list(),
        }
        (directory / "vocab.json").write_text(json.dumps(meta), encoding="utf-8")
        if self.item_table is not None:
            self.item_table.write_parquet(directory / "items.parquet")
        if self.user_table is not None:
            self.user_table.write_parquet(directory / "users.parquet")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Interactions:
        """Read what ``save`` wrote."""
        directory = Path(directory)
        vocab_path = directory / "vocab.json"
        if not vocab_path.is_file():
            raise DataError(f"{vocab_path}: not found; not a saved Interactions folder")
        meta = json.loads(vocab_path.read_text(encoding="utf-8"))
        events = pl.read_parquet(directory / "events.parquet")
        items_path, users_path = directory / "items.parquet", directory / "users.parquet"
        return cls(
            users=events.get_column("user").to_numpy(),
            items=events.get_column("item").to_numpy(),
            weights=events.get_column("weight").to_numpy(),
            timestamps=events.get_column("timestamp").to_numpy(),
            user_vocab=IdVocab(meta["users"], name="user"),
            item_vocab=IdVocab(meta["items"], name="item"),
            item_table=pl.read_parquet(items_path) if items_path.is_file() else None,
            user_table=pl.read_parquet(users_path) if users_path.is_file() else None,
            name=meta.get("name", "data"),
        )


def _encode(values: pl.Series, vocab: pl.Series) -> np.ndarray:
    """Dense indices of ``values`` in ``vocab`` (both Utf8 series)."""
    lookup = pl.DataFrame({"key": vocab, "idx": np.arange(len(vocab), dtype=np.int32)})
    joined = pl.DataFrame({"key": values}).join(lookup, on="key", how="left", maintain_order="left")
    return joined.get_column("idx").to_numpy().astype(np.int32)


def _numeric(frame: pl.DataFrame, col: str, source: str, dtype: type) -> np.ndarray:
    series = frame.get_column(col)
    try:
        cast = series.cast(pl.Float64, strict=True)
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError):
        cast = series.cast(pl.Float64, strict=False)
        bad = int((cast.is_null() & series.is_not_null()).arg_max() or 0)
        raise DataError(
            f"{source}: column {col!r} must be numeric; got {series[bad]!r} at row {bad + 1}"
        ) from None
    if cast.null_count():
        row = int(cast.is_null().arg_max() or 0)
        raise DataError(f"{source}: column {col!r} has an empty value at row {row + 1}")
    return cast.to_numpy().astype(dtype)


def _align(table: pl.DataFrame | None, vocab: IdVocab, key: str) -> pl.DataFrame | None:
    """Reorder ``table`` to vocabulary order; missing ids get null rows."""
    if table is None:
        return None
    if key not in table.columns:
        raise DataError(f"{key[:-3]} table: column {key!r} not found; columns: {table.columns}")
    table = table.with_columns(pl.col(key).cast(pl.Utf8)).unique(
        subset=key, keep="first", maintain_order=True
    )
    order = pl.DataFrame({key: pl.Series(vocab.to_list(), dtype=pl.Utf8)})
    return order.join(table, on=key, how="left", maintain_order="left")

