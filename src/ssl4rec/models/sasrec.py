"""SASRec: self-attentive sequential recommendation (Kang & McAuley, ICDM 2018).

Causal self-attention over a user's item sequence; the hidden state at position i
predicts item i + 1. Trained on whole sequence windows with a loss at every
position: full cross-entropy over all items (default), sampled softmax
cross-entropy over negatives shared by the batch (``loss: sampled_ce``), or the
original sampled binary cross-entropy with one uniform negative per position.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from typing_extensions import override

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.configs.sasrec import SASRecConfig
from ssl4rec.models.nn.sequential import SequentialRecommender
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

    def batches(self, train: Interactions, generator: torch.Generator) -> Iterable[Any]:
        """Shuffled windows of ``max_seq_len + 1`` items: inputs and next-item targets.

        Yields:
            dicts with ``tokens`` and ``targets`` ``(B, L)`` (0 = padding / no target)
            and ``negatives``: for ``loss="sampled_ce"`` ``(K,)`` item indices shared by
            the batch, for ``loss="bce"`` ``(B, L)`` uniform item tokens.
        """
        length = self.config.max_seq_len
        wins = self.windows(train, length + 1, length)
        order = torch.randperm(len(wins), generator=generator).tolist()
        candidates = torch.from_numpy(np.flatnonzero(train.item_counts > 0) + 1)  # item tokens
        for start in range(0, len(order), self.config.batch_size):
            chunk = [wins[i] for i in order[start : start + self.config.batch_size]]
            width = self.batch_width([len(w) - 1 for w in chunk])
            batch = {
                "tokens": left_pad([w[:-1] for w in chunk], width),  # (B, L)
                "targets": left_pad([w[1:] for w in chunk], width),  # (B, L)
            }
            self.add_negatives(batch, generator)
            if self.config.loss == "bce":
                pick = torch.randint(len(candidates), batch["targets"].shape, generator=generator)
                batch["negatives"] = candidates[pick] * (batch["targets"] > 0)  # (B, L)
            yield batch

    @override
    def training_step(self, batch: Any, phase: str | None = None) -> dict[str, torch.Tensor]:
        assert self.net is not None
        table = self.net.items.table()  # (n, d)
        hidden, _ = self.net(batch["tokens"], table)  # (B, L, d)
        targets = batch["targets"]
        if self.config.loss != "bce":
            loss = self.next_item_loss(
                hidden, targets, table, batch["tokens"], batch.get("negatives")
            )
            return {"loss": loss}
        keep = targets > 0  # (B, L)
        h = hidden[keep]  # (N, d)
        table = self.net.items.drop_ids(table)  # (n, d)
        pos_items, neg_items = targets[keep] - 1, batch["negatives"][keep] - 1  # (N,), (N,)
        pos = (h * table[pos_items]).sum(-1)  # (N,)
        neg = (h * table[neg_items]).sum(-1)  # (N,)
        pos = self.add_seen_offset(pos, batch["tokens"], keep, pos_items)  # (N,)
        neg = self.add_seen_offset(neg, batch["tokens"], keep, neg_items)  # (N,)
        loss = F.binary_cross_entropy_with_logits(
            torch.cat([pos, neg]), torch.cat([torch.ones_like(pos), torch.zeros_like(neg)])
        )
        return {"loss": loss * 2}  # sum of the positive and negative terms, per position
