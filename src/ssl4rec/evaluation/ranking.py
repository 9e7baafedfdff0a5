"""Ranking helpers shared by models, the evaluator and serving: one top-k, one mask.

Scores are float rows ``(n, num_items)``. ``-inf`` marks an item that must not be
recommended (a masked seen item); NaN scores are treated the same way, so they
never rank above a real score and never count as a hit.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["mask_rows", "prepare_scores", "top_k", "top_k_items"]


def prepare_scores(scores: torch.Tensor) -> torch.Tensor:
    """A float32 copy of ``scores`` with NaN set to ``-inf`` (infinities kept).

    The copy lets masking work in place without touching the model's tensor.
    """
    return torch.nan_to_num(scores.float(), nan=-torch.inf, posinf=torch.inf, neginf=-torch.inf)


def mask_rows(scores: torch.Tensor, seen: sp.csr_matrix) -> torch.Tensor:
    """Set ``scores[r, c] = -inf`` where ``seen[r, c]`` is non-zero (in place).

    Args:
        scores: ``(n, num_items)`` scores.
        seen: ``(n, num_items)`` sparse matrix of the items to hide per row.
    """
    coo = seen.tocoo()
    if coo.nnz:
        rows = torch.from_numpy(coo.row.astype(np.int64))
        cols = torch.from_numpy(coo.col.astype(np.int64))
        scores[rows.to(scores.device), cols.to(scores.device)] = -torch.inf
    return scores


def top_k(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-``k`` values and item indices per row, best first; NaN ranks last.

    Args:
        scores: ``(n, num_items)`` scores (not modified).
        k: items per row, capped at ``num_items``.

    Returns:
        ``(values, indices)``, each ``(n, min(k, num_items))``.
    """
    scores = torch.nan_to_num(scores, nan=-torch.inf, posinf=torch.inf, neginf=-torch.inf)
    return torch.topk(scores, min(k, scores.shape[1]), dim=1, sorted=True)


def top_k_items(scores: torch.Tensor, k: int) -> np.ndarray:
    """Top-``k`` item indices per row as int64 ``(n, k')``, ``-1`` where the score is ``-inf``.

    A ``-1`` slot is empty: fewer than ``k`` items could be recommended.
    """
    values, idx = top_k(scores, k)
    items = idx.cpu().numpy().astype(np.int64)
    items[~(values > -torch.inf).cpu().numpy()] = -1
    return items
