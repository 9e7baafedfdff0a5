"""Sparse user rows as autoencoder input: the first layer's cost follows history length.

An autoencoder's input is a user's item row, ``num_items`` wide and almost all zeros.
A dense first layer multiplies all of it (``batch × num_items × hidden`` forward and
again for the weight gradient); here the row stays a ``torch.sparse_csr`` tensor and
the first layer sums the weight rows of the user's items (``F.embedding_bag``), so
forward and backward cost ``nnz × hidden``. L2 normalisation and input dropout act on
the stored entries only, which is exactly what they do to a dense row: zeros stay
zero under both, so the outputs and the dropout distribution are the same.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn
from typing_extensions import override

__all__ = [
    "SparseInputLinear",
    "corrupt_rows",
    "csr_tensor",
    "densify",
    "input_linear",
    "is_sparse",
    "row_sums",
    "sparse_rows",
]


def sparse_rows(
    matrix: sp.csr_matrix, rows: np.ndarray, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """``matrix[rows]`` as a float32 ``torch.sparse_csr`` tensor ``(len(rows), n_cols)``."""
    sub = matrix[np.asarray(rows, dtype=np.int64)]
    sub.sort_indices()
    return csr_tensor(
        torch.from_numpy(sub.indptr.astype(np.int64)).to(device),
        torch.from_numpy(sub.indices.astype(np.int64)).to(device),
        torch.from_numpy(sub.data.astype(np.float32)).to(device),
        (int(sub.shape[0]), int(sub.shape[1])),
    )


def csr_tensor(
    crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, size: tuple[int, int]
) -> torch.Tensor:
    """A ``torch.sparse_csr`` tensor from its parts (built from a valid CSR, so unchecked)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(crow, col, values, size=size, check_invariants=False)


def is_sparse(x: torch.Tensor) -> bool:
    """Whether ``x`` is a sparse CSR row batch (else a dense ``(b, n)`` tensor)."""
    return x.layout == torch.sparse_csr


def _row_ids(x: torch.Tensor) -> torch.Tensor:
    """The row of each stored entry of CSR ``x``, int64 ``(nnz,)``."""
    crow = x.crow_indices()
    return torch.repeat_interleave(torch.arange(x.shape[0], device=crow.device), crow.diff())


def _with_values(x: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    return csr_tensor(x.crow_indices(), x.col_indices(), values, (x.shape[0], x.shape[1]))


def densify(x: torch.Tensor) -> torch.Tensor:
    """Dense ``(b, n)`` rows of a sparse or dense batch."""
    return x.to_dense() if is_sparse(x) else x


def row_sums(x: torch.Tensor) -> torch.Tensor:
    """Sum of each row, ``(b,)``."""
    if not is_sparse(x):
        return x.sum(dim=1)
    out = torch.zeros(x.shape[0], dtype=x.values().dtype, device=x.values().device)
    return out.index_add_(0, _row_ids(x), x.values())


def corrupt_rows(x: torch.Tensor, drop: nn.Module | float, *, normalize: bool) -> torch.Tensor:
    """Optionally L2-normalise each row, then apply input dropout.

    Dense rows go through ``F.normalize(x, dim=1)`` and ``drop`` unchanged; sparse rows
    get the same normalisation and dropout on their stored entries.

    Args:
        x: ``(b, n)`` dense or sparse CSR rows.
        drop: a dropout module, or a drop probability (applied when > 0).
        normalize: divide each row by its L2 norm (at least 1e-12) first.
    """

    def apply(values: torch.Tensor) -> torch.Tensor:
        if isinstance(drop, nn.Module):
            return drop(values)
        return F.dropout(values, p=drop, training=drop > 0)

    if not is_sparse(x):
        return apply(F.normalize(x, dim=1) if normalize else x)
    values = x.values()
    if normalize:
        rows = _row_ids(x)
        norms = torch.zeros(x.shape[0], dtype=values.dtype, device=values.device)
        norms = norms.index_add_(0, rows, values * values).sqrt().clamp_min(1e-12)
        values = values / norms[rows]
    return _with_values(x, apply(values))


class SparseInputLinear(nn.Module):
    """``y = x W + b`` for item rows ``x``, with ``W`` stored ``(num_items, out)``.

    Sparse CSR rows are summed with ``F.embedding_bag`` (cost ``nnz × out``); dense rows
    are multiplied. Initialised like ``MLP``'s Xavier-normal ``nn.Linear`` (the same
    draws, transposed), so that a seeded model has the same weights either way.

    Args:
        num_items: input width.
        out_features: output width.
        xavier: Xavier-normal weight and N(0, 0.001) bias (else ``nn.Linear``'s init).
    """

    def __init__(self, num_items: int, out_features: int, *, xavier: bool = True) -> None:
        super().__init__()
        linear = nn.Linear(num_items, out_features)  # (out, in): the same draws as MLP's
        if xavier:
            nn.init.xavier_normal_(linear.weight)
            nn.init.normal_(linear.bias, std=0.001)
        self.weight = nn.Parameter(linear.weight.detach().T.contiguous())  # (in, out)
        self.bias = nn.Parameter(linear.bias.detach().clone())  # (out,)

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(b, num_items)`` rows, sparse CSR or dense -> ``(b, out)``."""
        if is_sparse(x):
            crow = x.crow_indices()
            summed = F.embedding_bag(
                x.col_indices(),
                self.weight,
                crow[:-1],
                mode="sum",
                per_sample_weights=x.values(),
                include_last_offset=False,
            )  # (b, out)
            return summed + self.bias
        return x @ self.weight + self.bias

    def ghost_norms(
        self, activations: list[torch.Tensor], backprops: torch.Tensor
    ) -> dict[nn.Parameter, torch.Tensor]:
        """Each row's gradient norm of ``weight`` and ``bias``, without forming the gradients.

        A row's weight gradient is the outer product ``x_u g_uᵀ``, whose norm is
        ``‖x_u‖ ‖g_u‖`` (ghost clipping, Li et al. 2022); the privacy layer registers
        this with Opacus as the layer's norm sampler.

        Args:
            activations: the layer's inputs ``[x]``, ``x`` ``(b, num_items)`` sparse or dense.
            backprops: gradients of the per-row losses at the output, ``(b, out)``.
        """
        x = activations[0]
        squares = _with_values(x, x.values() ** 2) if is_sparse(x) else x * x
        out_norm = backprops.norm(dim=1)  # (b,)
        norms = {self.weight: row_sums(squares).sqrt() * out_norm, self.bias: out_norm}
        return {p: n for p, n in norms.items() if p.requires_grad}

    @override
    def extra_repr(self) -> str:
        return f"num_items={self.weight.shape[0]}, out_features={self.weight.shape[1]}"


def input_linear(num_items: int, out_features: int, *, sparse: bool, xavier: bool) -> nn.Module:
    """The first layer of an autoencoder: ``SparseInputLinear`` or a plain ``nn.Linear``."""
    if sparse:
        return SparseInputLinear(num_items, out_features, xavier=xavier)
    linear = nn.Linear(num_items, out_features)
    if xavier:
        nn.init.xavier_normal_(linear.weight)
        nn.init.normal_(linear.bias, std=0.001)
    return linear
