"""SASRec: self-attentive sequential recommendation (Kang & McAuley, ICDM 2018).

Causal self-attention over a user's item sequence; the hidden state at position i
predicts item i + 1. Trained on whole sequence windows with a loss at every
position: full cross-entropy over all items (default), sampled softmax
cross-entropy over negatives shared by the batch (``loss: sampled_ce``), or the
original sampled binary cross-entropy with one uniform negative per position.
Options of the shared base (``SequentialConfig``) add gBCE, a DuoRec-style
contrastive term, BSARec's frequency filter and AdamW (docs/sequential-plus.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from typing_extensions import override

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.configs.sasrec import SASRecConfig
from ssl4rec.models.nn.sequential import SequentialRecommender, sequence_windows
from ssl4rec.models.nn.transformer import left_pad

__all__ = ["SASRec", "SASRecConfig"]

logger = logging.getLogger(__name__)


class SASRec(SequentialRecommender[SASRecConfig]):
    """Self-Attentive Sequential Recommendation.

    Example:
        >>> model = SASRec(max_seq_len=200, item_repr="id").fit(split.train, valid=split.valid)
        >>> model.recommend_history(["50", "181"], k=10)

    References:
        Wang-Cheng Kang, Julian McAuley. Self-Attentive Sequential Recommendation.
        ICDM 2018.
    """

    name = "sasrec"
    config_class = SASRecConfig
    causal = True
    append_mask = False

    grad_mode: Literal["loop", "ghost"] = "loop"
    """DP-SGD: the item table is both input embedding and output layer (used outside
    the layers Opacus hooks), so each user's gradient comes from its own backward pass."""
    private_min_events = 2
    """DP-SGD samples users with at least one next-item pair."""
    _table_rows: torch.Tensor | None = None
    """The item-table rows a compact DP-SGD batch reads (``use_rows``)."""

    @property
    def dp_refusal(self) -> str | None:  # type: ignore[override]  # per config, not per class
        """Why DP-SGD refuses this SASRec (``None`` when it can be trained privately)."""
        if (
            self.config.loss in ("sampled_ce", "gbce")
            and self.config.negative_sampling != "uniform"
        ):
            return (
                "negative_sampling 'popularity' draws from the training counts, which "
                "DP-SGD does not protect; use negative_sampling 'uniform'"
            )
        return None

    def _compact_private(self) -> bool:
        """Whether a DP-SGD batch reads only the table rows it uses (``rows``).

        True for sampled softmax over ID vectors: each user's loss then touches its
        window's items and the batch's shared negatives only, while the full softmax
        (and a text adaptor) touches every item.
        """
        cfg = self.config
        return cfg.loss == "sampled_ce" and cfg.item_repr == "id" and cfg.id_dropout == 0

    def row_parameter(self) -> torch.Tensor:
        """The ID table, whose rows a compact DP-SGD batch names (``rows``)."""
        assert self.net is not None and self.net.items.ids is not None
        return self.net.items.ids.weight

    @contextmanager
    def use_rows(self, rows: torch.Tensor) -> Iterator[None]:
        """Train on the item vectors ``rows`` ``(U, d)`` of a compact batch instead of the table."""
        self._table_rows = rows
        try:
            yield
        finally:
            self._table_rows = None

    def private_batch(
        self, train: Interactions, users: torch.Tensor, generator: torch.Generator
    ) -> dict[str, Any]:
        """DP-SGD batch of sampled ``users``: one training window per user.

        The window is drawn uniformly among the user's training windows, so a long
        user never contributes several. Sampled negatives, one draw for the batch, go
        under ``shared``. With sampled softmax over ID vectors the batch also names
        the table rows it uses (``rows``) and its tokens count in those rows, so each
        user's gradient covers only them (``DPSGD``).
        """
        length = self.config.max_seq_len
        sequences = train.sequences()
        chunk = []
        for user in users.tolist():
            wins = sequence_windows([sequences[user]], length + 1, length)
            pick = int(torch.randint(len(wins), (1,), generator=generator)) if len(wins) > 1 else 0
            chunk.append(wins[pick])
        batch: dict[str, Any] = self._window_batch(chunk, train, generator)
        if self._compact_private():
            # renumber the items the batch uses 1..U, its table rows 0..U-1
            tokens, targets, negatives = batch["tokens"], batch["targets"], batch["negatives"]
            used = torch.unique(
                torch.cat([tokens[tokens > 0], targets[targets > 0], negatives + 1])
            )
            lookup = torch.zeros(self.mask_token + 1, dtype=torch.long)  # token -> new token
            lookup[used] = torch.arange(1, len(used) + 1)
            batch.update(
                tokens=lookup[tokens],
                targets=lookup[targets],
                negatives=lookup[negatives + 1] - 1,
                rows=used - 1,
            )
        negatives = batch.get("negatives")
        if negatives is not None and negatives.ndim == 1:
            batch["shared"] = {"negatives": batch.pop("negatives")}  # (K,): the whole batch's
        return batch

    def _window_batch(
        self, chunk: list[np.ndarray], train: Interactions, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """Inputs and next-item targets of windows ``chunk`` (and the loss's negatives)."""
        width = self.batch_width([len(w) - 1 for w in chunk])
        batch = {
            "tokens": left_pad([w[:-1] for w in chunk], width),  # (B, L)
            "targets": left_pad([w[1:] for w in chunk], width),  # (B, L)
        }
        self.add_negatives(batch, generator)
        if self.config.loss == "bce":
            candidates = torch.from_numpy(np.flatnonzero(train.item_counts > 0) + 1)  # item tokens
            pick = torch.randint(len(candidates), batch["targets"].shape, generator=generator)
            batch["negatives"] = candidates[pick] * (batch["targets"] > 0)  # (B, L)
        return batch

    def batches(self, train: Interactions, generator: torch.Generator) -> Iterable[Any]:
        """Shuffled windows of ``max_seq_len + 1`` items: inputs and next-item targets.

        Yields:
            dicts with ``tokens`` and ``targets`` ``(B, L)`` (0 = padding / no target)
            and ``negatives``: for ``loss="sampled_ce"`` ``(K,)`` item indices shared by
            the batch, for ``loss="bce"`` ``(B, L)`` uniform item tokens.
        """
        length = self.config.max_seq_len
        wins = self.windows(train, length + 1, length)
        for chunk, scale in self.window_chunks(wins, generator):
            batch = self._window_batch(chunk, train, generator)
            if scale is not None:
                batch["scale"] = scale
            yield batch

    @override
    def training_step(self, batch: Any, phase: str | None = None) -> dict[str, torch.Tensor]:
        assert self.net is not None
        table = self.net.items.table() if self._table_rows is None else self._table_rows  # (n, d)
        hidden, _ = self.net(batch["tokens"], table)  # (B, L, d)
        targets = batch["targets"]
        if self.config.loss != "bce":
            loss = self.batch_loss(hidden, table, batch)
            return self.with_contrastive({"loss": loss}, batch, hidden, table)
        keep = targets > 0  # (B, L)
        h = self.net.queries(hidden[keep])  # (N, d)
        table = self.net.items.drop_ids(table)  # (n, d)
        keys = self.net.keys(table)  # (n, d)
        pos_items, neg_items = targets[keep] - 1, batch["negatives"][keep] - 1  # (N,), (N,)
        pos = (h * keys[pos_items]).sum(-1)  # (N,)
        neg = (h * keys[neg_items]).sum(-1)  # (N,)
        pos = self.add_seen_offset(pos, batch["tokens"], keep, pos_items)  # (N,)
        neg = self.add_seen_offset(neg, batch["tokens"], keep, neg_items)  # (N,)
        loss = F.binary_cross_entropy_with_logits(
            torch.cat([pos, neg]), torch.cat([torch.ones_like(pos), torch.zeros_like(neg)])
        )
        # sum of the positive and negative terms, per position
        return self.with_contrastive({"loss": loss * 2}, batch, hidden, table)
