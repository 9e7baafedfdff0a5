"""Item representations for sequential models: ID embedding, text adaptor, or both.

``item_repr`` selects how an item index becomes a vector:

- ``"id"``: a learned ID embedding (transductive: needs training events).
- ``"id+text"``: ID embedding + MoE adaptor(text vector), in the spirit of UniSRec.
- ``"text"``: MoE adaptor(text vector) only, fully inductive: an item never seen in
  training is represented as well as any other item with text.

Items without training events have no learned ID vector (``trained`` buffer). In
``"id+text"`` mode their ID part is zero, so they fall back to their text; with
``id_dropout`` it is a learned *unknown-item* vector instead. That vector is trained
by the loss: in each training step a random ``id_dropout`` share of the items it
scores have their ID vector swapped for it (``drop_ids``), so it learns where an
item known only by its text belongs among items with IDs (popular items carry a
large ID part, so a zero there ranks every text-only item below them). Only the
scored side is swapped: the input sequences keep their ID vectors, so the
Transformer reads histories as in ``"id+text"``.

References:
    Hou et al. Towards Universal Sequence Representation Learning for Recommender
    Systems (UniSRec). KDD 2022.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from ssl4rec.models.configs.sequential import ITEM_REPRS, ItemRepr
from ssl4rec.models.nn.dropout import Dropout

__all__ = ["ITEM_REPRS", "ItemEncoder", "ItemRepr", "MoEAdaptor"]

logger = logging.getLogger(__name__)


class MoEAdaptor(nn.Module):
    """Mixture of parametric-whitening experts: ``Σ_e g_e(x) · (x − b_e) W_e``.

    Args:
        text_dim: input text-vector width ``t``.
        dim: output width ``d``.
        num_experts: experts ``E``; the gate is a softmax over ``x W_g``.
        dropout: dropout on the text vectors.
    """

    def __init__(self, text_dim: int, dim: int, num_experts: int, dropout: float) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(num_experts, text_dim))  # (E, t)
        self.weight = nn.Parameter(torch.empty(num_experts, text_dim, dim))  # (E, t, d)
        self.gate = nn.Linear(text_dim, num_experts, bias=False)
        self.dropout = Dropout(dropout)
        nn.init.normal_(self.weight, std=0.02)
        nn.init.zeros_(self.gate.weight)  # equal gates at the start

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        """``(n, t)`` text vectors -> ``(n, d)`` item vectors."""
        x = self.dropout(text)
        gates = torch.softmax(self.gate(x), dim=-1)  # (n, E)
        experts = torch.einsum("nt,etd->ned", x, self.weight)  # (n, E, d)
        shift = torch.einsum("et,etd->ed", self.bias, self.weight)  # (E, d)
        experts = experts - shift[None]  # (n, E, d): (x - b_e) W_e without an (n, E, t) copy
        return (gates.unsqueeze(-1) * experts).sum(dim=1)  # (n, d)


def principal_components(vectors: torch.Tensor, dim: int, *, std: float) -> torch.Tensor:
    """``(n, dim)``: ``vectors`` ``(n, t)`` on their first ``dim`` principal axes, overall std ``std``.

    Past ``min(n, t)`` axes the columns are normal noise of that std (torch's RNG).
    """
    centred = vectors.double() - vectors.double().mean(0)  # (n, t)
    u, s, _ = torch.linalg.svd(centred, full_matrices=False)  # (n, r), (r,)
    k = min(dim, len(s))
    out = torch.randn(vectors.shape[0], dim, dtype=torch.float64) * std  # (n, dim)
    scores = u[:, :k] * s[:k]  # (n, k)
    spread = scores.std()
    if float(spread) > 0:
        out[:, :k] = scores * (std / spread)
    return out.float()


class ItemEncoder(nn.Module):
    """Vectors of item tokens: 0 = padding, ``1..n`` = items, ``n + 1`` = ``[MASK]``.

    Args:
        num_items: catalog size ``n``.
        dim: vector width ``d``.
        mode: ``"id"``, ``"id+text"`` or ``"text"``.
        text: ``(n, t)`` float text vectors (required unless ``mode == "id"``); kept
            as a buffer, so saved weights carry them and loading needs no encoder.
        trained: bool ``(n,)``, items with training events (default: all).
        num_experts: experts of the MoE adaptor.
        adaptor_dropout: dropout on text vectors inside the adaptor.
        id_init: ``(n, t)`` vectors whose principal components start the ID vectors
            (``principal_components``); ``None``: normal, std 0.02.
        id_dropout: ``id+text``: chance per item and training step that the scored
            ID vector is replaced by the learned unknown-item vector (``drop_ids``);
            untrained items always use that vector. 0: no dropout, zero ID part for
            untrained items.
    """

    # Buffers (register_buffer), declared so that they read back as tensors.
    text: torch.Tensor
    """``(n, t)`` text vectors; registered only when ``mode`` uses text."""
    trained: torch.Tensor
    """bool ``(n,)``: items with training events."""

    def __init__(
        self,
        num_items: int,
        dim: int,
        mode: str,
        *,
        text: torch.Tensor | None = None,
        trained: torch.Tensor | None = None,
        num_experts: int = 8,
        adaptor_dropout: float = 0.1,
        id_dropout: float = 0.0,
        id_init: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.id_dropout = float(id_dropout)
        if mode not in ITEM_REPRS:
            raise ValueError(f"ItemEncoder.mode must be one of {list(ITEM_REPRS)}; got {mode!r}")
        self.num_items = num_items
        self.mode = mode
        self.ids: nn.Embedding | None = None
        self.adaptor: MoEAdaptor | None = None
        self.unknown: nn.Parameter | None = None
        if mode in ("id", "id+text"):
            self.ids = nn.Embedding(num_items, dim)
            nn.init.normal_(self.ids.weight, std=0.02)
            if id_init is not None:
                with torch.no_grad():
                    self.ids.weight.copy_(principal_components(id_init, dim, std=0.02))
        if mode in ("id+text", "text"):
            if text is None or text.ndim != 2 or text.shape[0] != num_items:
                shape = None if text is None else tuple(text.shape)
                raise ValueError(
                    f"ItemEncoder: mode {mode!r} needs text vectors ({num_items}, t); got {shape}"
                )
            self.register_buffer("text", text.float().contiguous())
            self.adaptor = MoEAdaptor(text.shape[1], dim, num_experts, adaptor_dropout)
        if mode == "id+text" and self.id_dropout > 0:
            self.unknown = nn.Parameter(torch.zeros(dim))
        if trained is None:
            trained = torch.ones(num_items, dtype=torch.bool)
        self.register_buffer("trained", trained.bool().clone())
        self.mask_token = nn.Parameter(torch.randn(dim) * 0.02)

    def table(self) -> torch.Tensor:
        """Vectors of all items, ``(n, d)`` (row i is item index i)."""
        out: torch.Tensor | None = None
        if self.ids is not None:
            trained = self.trained.unsqueeze(-1)  # (n, 1): untrained items have no ID vector
            if self.unknown is not None:
                out = torch.where(trained, self.ids.weight, self.unknown)  # (n, d)
            else:
                out = self.ids.weight * trained  # (n, d)
        if self.adaptor is not None:
            text = self.adaptor(self.text)  # (n, d)
            out = text if out is None else out + text
        assert out is not None
        return out

    def drop_mask(self) -> torch.Tensor | None:
        """The trained items whose ID vector this training step swaps out, bool ``(n,)``.

        A random ``id_dropout`` share of the trained items; ``None`` outside training
        or without ``id_dropout``.
        """
        if not self.training or self.unknown is None:
            return None
        draw = torch.rand(self.trained.shape, device=self.trained.device)
        return self.trained & (draw < self.id_dropout)

    def drop_ids(self, table: torch.Tensor, drop: torch.Tensor | None = None) -> torch.Tensor:
        """The table a training loss scores, with some ID vectors swapped for the unknown one.

        ``table`` (from ``table()``) with the ID vector of the items in ``drop``
        (default: a fresh ``drop_mask()``) swapped for the unknown-item vector.
        Unchanged outside training or without ``id_dropout``.
        """
        drop = self.drop_mask() if drop is None else drop
        if drop is None:
            return table
        assert self.ids is not None and self.unknown is not None
        return torch.where(drop.unsqueeze(-1), table - self.ids.weight + self.unknown, table)

    def embed(self, tokens: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        """Token vectors ``(B, L, d)`` for int64 tokens ``(B, L)``.

        Args:
            tokens: 0 padding, ``1..n`` items, ``n + 1`` mask.
            table: ``self.table()`` if already computed in this step.
        """
        table = self.table() if table is None else table
        pad = table.new_zeros(1, table.shape[1])  # (1, d)
        full = torch.cat([pad, table, self.mask_token[None]], dim=0)  # (n + 2, d)
        return full[tokens]  # (B, L, d)
