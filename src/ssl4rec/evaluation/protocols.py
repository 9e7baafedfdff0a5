"""Ranking protocols: full ranking over all items, or against sampled negatives.

Both turn one batch of score rows into the same two arrays the metrics read:
``hits`` (bool, ``(batch, K)``) and ``recs`` (item indices, ``(batch, K)``, ``-1``
for an empty slot). A slot is empty when its score is ``-inf`` or NaN: masked seen
items and NaN scores are never recommended and never count as hits.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
import torch

from ssl4rec.evaluation.ranking import top_k_items

__all__ = ["TruthLookup", "full_ranking", "sampled_ranking"]

logger = logging.getLogger(__name__)


class TruthLookup:
    """Vectorised membership test ``(user, item) in truth`` on a CSR matrix.

    Every stored pair is encoded as ``user * num_items + item``; CSR with sorted
    column indices makes these keys sorted, so a lookup is one ``searchsorted``.
    """

    def __init__(self, truth: sp.csr_matrix) -> None:
        """Index the non-zero pairs of ``truth`` ``(num_users, num_items)``."""
        mat = truth.tocsr()
        if not mat.has_canonical_format:
            mat = mat.copy()
            mat.sum_duplicates()  # also sorts the indices
        self.num_items = mat.shape[1]
        self.indptr = mat.indptr.astype(np.int64)
        rows = np.repeat(np.arange(mat.shape[0], dtype=np.int64), np.diff(self.indptr))
        self.keys = rows * self.num_items + mat.indices.astype(np.int64)  # sorted

    def num_relevant(self, users: np.ndarray) -> np.ndarray:
        """Relevant items per user, ``(n,)`` int64."""
        return self.indptr[users + 1] - self.indptr[users]

    def contains(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Bool array shaped like ``items``: ``items[r, j]`` is relevant to ``users[r]``.

        Args:
            users: ``(n,)`` user indices.
            items: ``(n, m)`` item indices; negative entries are never relevant.
        """
        if self.keys.size == 0:
            return np.zeros(items.shape, dtype=bool)
        query = users.astype(np.int64)[:, None] * self.num_items + items  # (n, m)
        pos = np.searchsorted(self.keys, query)
        pos = np.minimum(pos, self.keys.size - 1)
        return (self.keys[pos] == query) & (items >= 0)

    def items_of(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Relevant items padded to a matrix: ``(items (n, m) with -1 padding, counts (n,))``."""
        counts = self.num_relevant(users)
        width = int(counts.max()) if len(counts) else 0
        out = np.full((len(users), width), -1, dtype=np.int64)
        if width:
            col = np.arange(width)[None, :]  # (1, m)
            take = col < counts[:, None]  # (n, m)
            src = self.indptr[users][:, None] + col  # (n, m) positions in the key array
            out[take] = self.keys[src[take]] % self.num_items
        return out, counts


def full_ranking(
    scores: torch.Tensor, users: np.ndarray, truth: TruthLookup, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` over all items of prepared, masked ``scores`` ``(batch, num_items)``.

    Returns:
        ``hits`` bool ``(batch, k')`` and ``recs`` int64 ``(batch, k')`` with
        ``k' = min(k, num_items)``.
    """
    recs = top_k_items(scores, k)
    hits = truth.contains(users, recs)
    return hits, recs


def sampled_ranking(
    scores: torch.Tensor,
    users: np.ndarray,
    truth: TruthLookup,
    k: int,
    *,
    num_negatives: int,
    excluded: sp.csr_matrix | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Rank each user's relevant items against ``num_negatives`` sampled negatives.

    Negatives are drawn uniformly without replacement from the items that are
    neither relevant nor in ``excluded`` (fewer when fewer remain). The random
    keys come from ``rng`` row by row, so results do not depend on the batch size.

    Args:
        scores: ``(batch, num_items)`` prepared, masked scores.
        users: ``(batch,)`` user indices.
        truth: relevant items.
        k: cut-off.
        num_negatives: negatives per user.
        excluded: ``(batch, num_items)`` items that may not be negatives (seen).
        rng: the seeded generator, advanced by ``batch * num_items`` draws.

    Returns:
        ``hits`` and ``recs`` over each user's candidate list, as in ``full_ranking``.
    """
    batch, num_items = scores.shape
    # random keys: the num_negatives smallest among allowed items are a uniform sample
    keys = rng.random((batch, num_items))  # (batch, num_items)
    pos_items, _ = truth.items_of(users)  # (batch, m), -1 padded
    rows = np.repeat(np.arange(batch), pos_items.shape[1]).reshape(pos_items.shape)
    keys[rows[pos_items >= 0], pos_items[pos_items >= 0]] = np.inf
    if excluded is not None:
        coo = excluded.tocoo()
        keys[coo.row, coo.col] = np.inf
    num_neg = min(num_negatives, num_items)
    neg = np.argpartition(keys, num_neg - 1, axis=1)[:, :num_neg] if num_neg else None
    if neg is None:
        neg_items = np.zeros((batch, 0), dtype=np.int64)
    else:
        neg_ok = np.take_along_axis(keys, neg, axis=1) < np.inf
        neg_items = np.where(neg_ok, neg, -1).astype(np.int64)
    cands = np.concatenate([pos_items, neg_items], axis=1)  # (batch, m + N)
    cand_t = torch.from_numpy(np.maximum(cands, 0)).to(scores.device)
    cand_scores = torch.gather(scores, 1, cand_t)  # (batch, m + N)
    cand_scores[torch.from_numpy(cands < 0).to(scores.device)] = -torch.inf
    idx_np = top_k_items(cand_scores, k)  # positions in the candidate list, -1 empty
    recs = np.where(idx_np >= 0, np.take_along_axis(cands, np.maximum(idx_np, 0), axis=1), -1)
    hits = truth.contains(users, recs)
    return hits, recs
