"""BERT4Rec: bidirectional Transformer trained with a cloze objective (Sun et al., CIKM 2019).

Random items of a sequence window are replaced by ``[MASK]``; the bidirectional
encoder predicts them (cross-entropy over all items at every masked position). To
recommend, a ``[MASK]`` is appended to the history and its prediction is the score.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import torch
from typing_extensions import override

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.configs.bert4rec import BERT4RecConfig
from ssl4rec.models.nn.sequential import SequentialRecommender
from ssl4rec.models.nn.transformer import left_pad

__all__ = ["BERT4Rec", "BERT4RecConfig"]

logger = logging.getLogger(__name__)


class BERT4Rec(SequentialRecommender[BERT4RecConfig]):
    """Sequential recommendation with bidirectional encoder representations.

    Example:
        >>> model = BERT4Rec(max_seq_len=50).fit(split.train, valid=split.valid)

    References:
        Fei Sun et al. BERT4Rec: Sequential Recommendation with Bidirectional Encoder
        Representations from Transformer. CIKM 2019.
    """

    name = "bert4rec"
    config_class = BERT4RecConfig
    causal = False
    append_mask = True

    def batches(self, train: Interactions, generator: torch.Generator) -> Iterable[Any]:
        """Shuffled disjoint windows of ``max_seq_len`` items with random masks.

        Yields:
            dicts with ``tokens`` (masked inputs) and ``targets`` (the original item
            token at masked positions, else 0), both ``(B, L)``.
        """
        cfg = self.config
        length = cfg.max_seq_len
        wins = self.windows(train, length, length)
        for chunk, scale in self.window_chunks(wins, generator):
            tokens = left_pad(chunk, self.batch_width([len(w) for w in chunk]))  # (B, L)
            real = tokens > 0  # (B, L)
            masked = (torch.rand(tokens.shape, generator=generator) < cfg.mask_ratio) & real
            last_only = torch.rand(len(chunk), generator=generator) < cfg.mask_last_prob  # (B,)
            none = ~masked.any(dim=1)  # (B,) rows that drew no mask
            masked[last_only | none] = False
            masked[last_only | none, -1] = True  # the last position is never padding
            targets = torch.where(masked, tokens, torch.zeros_like(tokens))  # (B, L)
            inputs = torch.where(masked, torch.full_like(tokens, self.mask_token), tokens)
            batch = {"tokens": inputs, "targets": targets}
            if scale is not None:
                batch["scale"] = scale
            self.add_negatives(batch, generator)  # loss="sampled_ce"
            yield batch

    @override
    def training_step(self, batch: Any, phase: str | None = None) -> dict[str, torch.Tensor]:
        assert self.net is not None
        table = self.net.items.table()  # (n, d)
        hidden, _ = self.net(batch["tokens"], table)  # (B, L, d)
        loss = self.batch_loss(hidden, table, batch)
        return self.with_contrastive({"loss": loss}, batch, hidden, table)
