"""Observed (user, item) pairs with uniformly sampled unobserved items (BPR-style batches)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["pair_batches", "sample_negatives"]


def pair_batches(
    csr: sp.csr_matrix, batch_size: int, num_negatives: int, generator: torch.Generator
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """One epoch of shuffled observed pairs, each with ``num_negatives`` unobserved items.

    Args:
        csr: user × item matrix; its stored entries are the observed pairs (its indices
            sorted within each row, as scipy keeps them after ``sum_duplicates``).
        batch_size: pairs per batch.
        num_negatives: sampled items per pair.
        generator: the only source of randomness (order and negatives).

    Yields:
        ``(users (b,), positives (b,), negatives (b, num_negatives))`` int64 tensors.
    """
    num_items = csr.shape[1]
    users = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
    items = csr.indices.astype(np.int64)
    keys = torch.from_numpy(users * num_items + items)  # sorted: CSR is row-major, sorted
    users_t, items_t = torch.from_numpy(users), torch.from_numpy(items)
    order = torch.randperm(len(users_t), generator=generator)
    for idx in order.split(batch_size):
        u, pos = users_t[idx], items_t[idx]
        yield u, pos, sample_negatives(u, keys, num_items, num_negatives, generator)


def sample_negatives(
    users: torch.Tensor,
    positive_keys: torch.Tensor,
    num_items: int,
    num_negatives: int,
    generator: torch.Generator,
    max_rounds: int = 20,
) -> torch.Tensor:
    """Uniform items per user that are not among the user's positives (``(b, n)``).

    Args:
        users: ``(b,)`` user indices.
        positive_keys: sorted ``user * num_items + item`` of every observed pair.
        num_items: catalog size.
        num_negatives: items per user.
        generator: source of the draws.
        max_rounds: redraws of colliding items; users who consumed almost every item
            may keep a positive after that (rare, and harmless for the loss).
    """
    shape = (len(users), num_negatives)
    neg = torch.randint(num_items, shape, generator=generator)
    base = users.unsqueeze(1) * num_items  # (b, 1)
    for _ in range(max_rounds):
        keys = base + neg
        pos = torch.searchsorted(positive_keys, keys).clamp(max=len(positive_keys) - 1)
        clash = positive_keys[pos] == keys
        count = int(clash.sum())
        if count == 0:
            break
        neg[clash] = torch.randint(num_items, (count,), generator=generator)
    return neg
