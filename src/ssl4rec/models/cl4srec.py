"""CL4SRec: contrastive learning for sequential recommendation (Xie et al., ICDE 2022).

A causal Transformer (SASRec) trained jointly on next-item cross-entropy at every
position and an InfoNCE loss between two augmented views (crop, mask or reorder) of
each sequence, whose representations are the last hidden states.
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
from ssl4rec.models.configs.cl4srec import CL4SRecConfig
from ssl4rec.models.nn.sequential import SequentialRecommender
from ssl4rec.models.nn.transformer import left_pad

__all__ = ["CL4SRec", "CL4SRecConfig"]

logger = logging.getLogger(__name__)


def augment(
    tokens: np.ndarray, kind: int, cfg: CL4SRecConfig, mask_token: int, rng: np.random.Generator
) -> np.ndarray:
    """One augmented view of a token sequence (0 crop, 1 mask, 2 reorder)."""
    n = len(tokens)
    out = tokens.copy()
    if kind == 0:
        keep = max(1, int(np.ceil(cfg.crop_ratio * n)))
        start = int(rng.integers(0, n - keep + 1))
        return out[start : start + keep]
    if kind == 1:
        count = int(cfg.mask_ratio * n)
        out[rng.choice(n, size=count, replace=False)] = mask_token
        return out
    span = int(cfg.reorder_ratio * n)
    if span >= 2:
        start = int(rng.integers(0, n - span + 1))
        out[start : start + span] = rng.permutation(out[start : start + span])
    return out


def info_nce(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent: each view must pick its partner among the other ``2B - 1`` views.

    Args:
        z1: ``(B, d)`` first views.
        z2: ``(B, d)`` second views (row i pairs with ``z1[i]``).
        temperature: τ dividing dot-product similarities.

    Returns:
        Scalar mean cross-entropy over the ``2B`` views.
    """
    b = z1.shape[0]
    z = torch.cat([z1, z2])  # (2B, d)
    sim = z @ z.T / temperature  # (2B, 2B)
    sim = sim.masked_fill(torch.eye(2 * b, dtype=torch.bool, device=z.device), float("-inf"))
    partner = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)]).to(z.device)  # (2B,)
    return F.cross_entropy(sim, partner)


class CL4SRec(SequentialRecommender[CL4SRecConfig]):
    """Contrastive Learning for Sequential Recommendation.

    Example:
        >>> model = CL4SRec(cl_weight=0.1).fit(split.train, valid=split.valid)

    References:
        Xu Xie et al. Contrastive Learning for Sequential Recommendation. ICDE 2022.
    """

    name = "cl4srec"
    config_class = CL4SRecConfig
    causal = True
    append_mask = False

    def batches(self, train: Interactions, generator: torch.Generator) -> Iterable[Any]:
        """SASRec windows plus two augmented views of each window's input part.

        Yields:
            dicts with ``tokens``, ``targets``, ``view1``, ``view2``, all ``(B, L)``.
        """
        cfg = self.config
        length = cfg.max_seq_len
        wins = self.windows(train, length + 1, length)
        chunks = self.window_chunks(wins, generator)
        rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=generator)))
        for chunk, scale in chunks:
            inputs = [w[:-1] + 1 for w in chunk]  # item tokens
            kinds = rng.integers(0, 3, size=(len(chunk), 2))
            views = [
                [
                    augment(seq, int(k[v]), cfg, self.mask_token, rng)
                    for seq, k in zip(inputs, kinds, strict=True)
                ]
                for v in range(2)
            ]
            width = self.batch_width([len(seq) for seq in inputs])  # views are no longer
            batch = {
                "tokens": left_pad(inputs, width, offset=0),  # (B, L)
                "targets": left_pad([w[1:] for w in chunk], width),  # (B, L)
                "view1": left_pad(views[0], width, offset=0),  # (B, L)
                "view2": left_pad(views[1], width, offset=0),  # (B, L)
            }
            if scale is not None:
                batch["scale"] = scale
            self.add_negatives(batch, generator)  # loss="sampled_ce"
            yield batch

    @override
    def training_step(self, batch: Any, phase: str | None = None) -> dict[str, torch.Tensor]:
        assert self.net is not None
        table = self.net.items.table()  # (n, d)
        hidden, _ = self.net(batch["tokens"], table)  # (B, L, d)
        rec = self.batch_loss(hidden, table, batch)
        z1 = self.net(batch["view1"], table)[0][:, -1]  # (B, d)
        z2 = self.net(batch["view2"], table)[0][:, -1]  # (B, d)
        cl = info_nce(z1, z2, self.config.cl_temperature)
        losses = {"loss": rec + self.config.cl_weight * cl, "rec": rec, "cl": cl}
        return self.with_contrastive(losses, batch, hidden, table)
