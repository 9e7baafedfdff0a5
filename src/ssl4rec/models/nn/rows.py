"""Dense user rows from sparse matrices, for autoencoder batches and fold-in."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
import torch

from ssl4rec.models.nn.sparse_input import sparse_rows

__all__ = ["dense_rows", "user_row_batches"]


def dense_rows(
    matrix: sp.csr_matrix, rows: np.ndarray, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """``matrix[rows]`` as a dense float32 tensor ``(len(rows), n_cols)`` on ``device``."""
    sub = matrix[np.asarray(rows, dtype=np.int64)].tocoo()
    out = torch.zeros(sub.shape, dtype=torch.float32, device=device)
    if sub.nnz:
        r = torch.from_numpy(sub.row.astype(np.int64)).to(device)
        c = torch.from_numpy(sub.col.astype(np.int64)).to(device)
        out[r, c] = torch.from_numpy(sub.data.astype(np.float32)).to(device)
    return out


def user_row_batches(
    matrix: sp.csr_matrix,
    users: np.ndarray,
    batch_size: int,
    generator: torch.Generator,
    *,
    sparse: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled ``(user indices (b,), rows (b, n_cols))`` batches over ``users``.

    Rows are dense, or ``torch.sparse_csr`` tensors with ``sparse``.
    """
    rows = sparse_rows if sparse else dense_rows
    users_t = torch.from_numpy(np.asarray(users, dtype=np.int64))
    order = users_t[torch.randperm(len(users_t), generator=generator)]
    for batch in order.split(batch_size):
        yield batch, rows(matrix, batch.numpy())
