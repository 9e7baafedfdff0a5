"""Per-user item histories in time order, and item-index lists as a binary matrix."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ssl4rec.data.interactions import Interactions

__all__ = ["History", "histories_to_csr"]


@dataclass(frozen=True)
class History:
    """Per-user item histories in time order, stored CSR-style.

    ``items[indptr[u]:indptr[u+1]]`` are user u's items, oldest first.
    """

    indptr: np.ndarray
    items: np.ndarray
    num_items: int

    @classmethod
    def from_interactions(cls, data: Interactions) -> History:
        """Histories in time order of every user of ``data``."""
        items = data.items[data.time_order].astype(np.int32)
        return cls(indptr=data.user_offsets.astype(np.int64), items=items, num_items=data.num_items)

    @property
    def num_users(self) -> int:
        """Users, including those with an empty history."""
        return len(self.indptr) - 1

    def sequence(self, user: int) -> np.ndarray:
        """User ``user``'s item indices, oldest first."""
        return self.items[self.indptr[user] : self.indptr[user + 1]]

    def sequences(self, users: Iterable[int]) -> list[np.ndarray]:
        """The histories of ``users``, in that order."""
        return [self.sequence(int(u)) for u in users]

    def without_user(self, user: int) -> History:
        """A copy with user ``user``'s history emptied (the other users unchanged)."""
        start, end = int(self.indptr[user]), int(self.indptr[user + 1])
        indptr = self.indptr.copy()
        indptr[user + 1 :] -= end - start
        items = np.concatenate([self.items[:start], self.items[end:]])
        return History(indptr=indptr, items=items, num_items=self.num_items)

    def csr(self, users: np.ndarray | None = None) -> sp.csr_matrix:
        """Binary user × item matrix (all users, or the rows of ``users``)."""
        mat = self._full_csr()
        return mat if users is None else mat[np.asarray(users)]

    def _full_csr(self) -> sp.csr_matrix:
        cached = self.__dict__.get("_csr")
        if cached is None:
            mat = sp.csr_matrix(
                (np.ones(len(self.items), dtype=np.float32), self.items, self.indptr),
                shape=(self.num_users, self.num_items),
                copy=True,  # sum_duplicates sorts and merges in place: keep the time order
            )
            mat.sum_duplicates()
            mat.data[:] = 1.0
            object.__setattr__(self, "_csr", mat)  # frozen dataclass: cache by hand
            cached = mat
        return cached


def histories_to_csr(
    histories: Sequence[np.ndarray | Sequence[int]], num_items: int
) -> sp.csr_matrix:
    """Binary matrix (len(histories), num_items) from item index arrays or lists."""
    indptr = np.zeros(len(histories) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(h) for h in histories])
    cols = (
        np.concatenate([np.asarray(h, dtype=np.int32) for h in histories])
        if len(histories)
        else np.zeros(0, dtype=np.int32)
    )
    mat = sp.csr_matrix(
        (np.ones(len(cols), dtype=np.float32), cols, indptr), shape=(len(histories), num_items)
    )
    mat.sum_duplicates()
    mat.data[:] = 1.0
    return mat
