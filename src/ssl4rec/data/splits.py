"""Train/valid/test splits over one id space.

Protocols (DESIGN.md, fixed so that numbers compare across runs and with peers):

- ``loo``: per user, last event -> test, second to last -> valid, rest -> train.
- ``temporal_ratio``: per user in time order, valid = floor(0.1 n), test = floor(0.1 n),
  train = the rest; RecBole's RS arithmetic, including its rule that a user with
  fewer than 10 events still gives one event to valid/test while train keeps > 1.
- ``global_time``: events before a cutoff -> train; the rest split by a second
  cutoff into valid and test.
- ``random``: seeded random ratio split of all events.

Time order is a stable sort by timestamp: ties keep their order in the source.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import scipy.sparse as sp

from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import ConfigError, DataError

__all__ = [
    "Protocol",
    "Split",
    "global_time_split",
    "leave_one_out",
    "make_split",
    "random_split",
    "temporal_ratio_split",
]

Protocol = Literal["loo", "temporal_ratio", "global_time", "random"]


@dataclass(frozen=True, eq=False)
class Split:
    """Train, validation and test events over the same vocabularies."""

    train: Interactions
    valid: Interactions
    test: Interactions
    protocol: str = "custom"
    cold_items: np.ndarray | None = None
    """Items held out of train and valid (cold-start protocol), or None."""

    def __post_init__(self) -> None:
        for part in (self.valid, self.test):
            if part.user_vocab is not self.train.user_vocab and part.user_vocab != self.train.user_vocab:
                raise DataError("Split: train, valid and test must share the user vocabulary")
            if part.item_vocab is not self.train.item_vocab and part.item_vocab != self.train.item_vocab:
                raise DataError("Split: train, valid and test must share the item vocabulary")

    @property
    def num_users(self) -> int:
        """Users of the shared vocabulary."""
        return self.train.num_users

    @property
    def num_items(self) -> int:
        """Items of the shared vocabulary."""
        return self.train.num_items

    def part(self, name: str) -> Interactions:
        """``"train"``, ``"valid"`` or ``"test"``."""
        if name not in ("train", "valid", "test"):
            raise ConfigError(f"Split.part must be one of ['train', 'valid', 'test']; got {name!r}")
        return getattr(self, name)

    def seen_before(self, name: str) -> sp.csr_matrix:
        """Binary user × item matrix of events in the splits before ``name``.

        For ``valid`` that is train; for ``test`` it is train + valid. These are the
        items masked by ``exclude_seen``.
        """
        if name == "valid":
            return self.train.csr()
        if name == "test":
            return self._train_valid_csr
        raise ConfigError(f"seen_before() takes 'valid' or 'test'; got {name!r}")

    @cached_property
    def _train_valid_csr(self) -> sp.csr_matrix:
        mat = (self.train.csr() + self.valid.csr()).tocsr()
        mat.data[:] = 1.0
        return mat

    @cached_property
    def train_valid(self) -> Interactions:
        """Train followed by valid events (for refitting before the test)."""
        return self.train.concat(self.valid)

    def summary(self) -> dict[str, int]:
        """Counts of users, items and events per part."""
        return {
            "users": self.num_users,
            "items": self.num_items,
            "train": len(self.train),
            "valid": len(self.valid),
            "test": len(self.test),
        }


def _per_user_positions(data: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each event in time order: its source position, its user, its rank in the user.

    Returns:
        ``order`` (event positions grouped by user, time-ordered), ``counts`` (n per
        user of each event in ``order``) and ``rank`` (0-based rank in the user).
    """
    order = data.time_order
    users = data.users[order]
    counts = data.user_counts[users]
    starts = data.user_offsets[:-1][users]
    rank = np.arange(len(order)) - starts
    return order, counts, rank


def _from_labels(data: Interactions, labels: np.ndarray, protocol: str) -> Split:
    """labels: 0 train / 1 valid / 2 test per event (source positions)."""
    return Split(
        train=data.select(np.flatnonzero(labels == 0)),
        valid=data.select(np.flatnonzero(labels == 1)),
        test=data.select(np.flatnonzero(labels == 2)),
        protocol=protocol,
    )


def leave_one_out(data: Interactions, *, min_train: int = 1) -> Split:
    """Last event -> test, second to last -> valid, the rest -> train (per user).

    Users with fewer than ``min_train + 2`` events keep all of them in train,
    so every evaluated user has history.
    """
    order, counts, rank = _per_user_positions(data)
    labels = np.zeros(len(data), dtype=np.int8)
    eligible = counts >= min_train + 2
    lab = np.zeros(len(order), dtype=np.int8)
    lab[eligible & (rank == counts - 1)] = 2
    lab[eligible & (rank == counts - 2)] = 1
    labels[order] = lab
    return _from_labels(data, labels, "loo")


def _recbole_counts(n: np.ndarray, ratios: tuple[float, float, float]) -> tuple[np.ndarray, ...]:
    """Per-user counts (train, valid, test) with RecBole's ``_calcu_split_ids`` rule."""
    n = n.astype(np.int64)
    valid = np.floor(ratios[1] * n).astype(np.int64)
    test = np.floor(ratios[2] * n).astype(np.int64)
    train = n - valid - test
    # RecBole walks the later parts from the last one back: a part whose share is in
    # (0, 1) gets one event as long as train still has more than one.
    for part, ratio in ((test, ratios[2]), (valid, ratios[1])):
        share = ratio * n
        bump = (share > 0) & (share < 1) & (train > 1)
        part += bump
        train -= bump
    return train, valid, test


def temporal_ratio_split(
    data: Interactions, *, ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
) -> Split:
    """Per user, time-ordered: the first share -> train, then valid, then test."""
    _check_ratios(ratios)
    order, counts, rank = _per_user_positions(data)
    n_users = data.user_counts
    train_n, valid_n, _ = _recbole_counts(n_users, ratios)
    users = data.users[order]
    tr, va = train_n[users], valid_n[users]
    lab = np.where(rank < tr, 0, np.where(rank < tr + va, 1, 2)).astype(np.int8)
    labels = np.empty(len(data), dtype=np.int8)
    labels[order] = lab
    return _from_labels(data, labels, "temporal_ratio")


def global_time_split(
    data: Interactions, *, valid_start: int, test_start: int
) -> Split:
    """Events with ``timestamp < valid_start`` -> train, ``< test_start`` -> valid, rest test."""
    if valid_start > test_start:
        raise ConfigError(
            f"global_time_split: valid_start must be ≤ test_start={test_start}; got {valid_start}"
        )
    ts = data.timestamps
    labels = np.where(ts < valid_start, 0, np.where(ts < test_start, 1, 2)).astype(np.int8)
    return _from_labels(data, labels, "global_time")


def random_split(
    data: Interactions, *, ratios: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 0
) -> Split:
    """Seeded random split of all events by ``ratios``."""
    _check_ratios(ratios)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(data))
    n_valid = int(round(ratios[1] * len(data)))
    n_test = int(round(ratios[2] * len(data)))
    labels = np.zeros(len(data), dtype=np.int8)
    labels[perm[len(data) - n_valid - n_test : len(data) - n_test]] = 1
    labels[perm[len(data) - n_test :]] = 2
    return _from_labels(data, labels, "random")


def _check_ratios(ratios: tuple[float, float, float]) -> None:
    if len(ratios) != 3 or any(r < 0 for r in ratios) or abs(sum(ratios) - 1.0) > 1e-6:
        raise ConfigError(
            f"split ratios must be three non-negative numbers summing to 1; got {list(ratios)}"
        )


def make_split(
    data: Interactions,
    protocol: str,
    *,
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    valid_start: int | None = None,
    test_start: int | None = None,
) -> Split:
    """Dispatch on the protocol name (the one used in configs)."""
    if protocol == "loo":
        return leave_one_out(data)
    if protocol == "temporal_ratio":
        return temporal_ratio_split(data, ratios=ratios)
    if protocol == "random":
        return random_split(data, ratios=ratios, seed=seed)
    if protocol == "global_time":
        if valid_start is None or test_start is None:
            raise ConfigError("global_time split needs valid_start and test_start timestamps")
        return global_time_split(data, valid_start=valid_start, test_start=test_start)
    raise ConfigError(
        f"split protocol must be one of ['loo', 'temporal_ratio', 'global_time', 'random']; "
        f"got {protocol!r}"
    )
