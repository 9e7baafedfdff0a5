"""BPR-MF: matrix factorisation trained with Bayesian personalised ranking (Rendle et al. 2009)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from typing_extensions import override

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.base import Recommender
from ssl4rec.models.configs.bpr import BPRConfig
from ssl4rec.models.nn.init import seeded
from ssl4rec.models.nn.losses import bpr_loss
from ssl4rec.models.nn.sampling import pair_batches

__all__ = ["BPR", "BPRConfig"]

logger = logging.getLogger(__name__)


class _MF(nn.Module):
    """User and item factor tables; a score is their dot product."""

    def __init__(self, num_users: int, num_items: int, dim: int) -> None:
        super().__init__()
        self.user = nn.Embedding(num_users, dim)
        self.item = nn.Embedding(num_items, dim)
        nn.init.xavier_normal_(self.user.weight)
        nn.init.xavier_normal_(self.item.weight)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores for users ``(b,)`` and items ``(b,)`` or ``(b, n)`` (same shape as items)."""
        u = self.user(users)  # (b, d)
        v = self.item(items)  # (b, d) or (b, n, d)
        if v.dim() == 3:
            return torch.einsum("bd,bnd->bn", u, v)
        return (u * v).sum(dim=-1)


class BPR(Recommender[BPRConfig]):
    """Matrix factorisation with the BPR pairwise loss and uniform negative sampling.

    A new user (``score_history``) is folded in as the mean of their items' factors,
    a cheap approximation; known users use their learned factors.

    References:
        Steffen Rendle, Christoph Freudenthaler, Zeno Gantner, Lars Schmidt-Thieme.
        BPR: Bayesian Personalized Ranking from Implicit Feedback. UAI 2009.
    """

    name = "bpr"
    explanation_method = "margin-occlusion"  # the most faithful here: docs/explanations.md
    config_class = BPRConfig
    dp_refusal = "its user embeddings would be released with the weights (the user's data itself)"

    def __init__(self, config: BPRConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.net: _MF | None = None

    @override
    def build(self, data: Interactions) -> None:
        with seeded(self.config.seed):
            self.net = _MF(data.num_users, data.num_items, self.config.embedding_dim)

    @override
    def modules(self) -> dict[str, nn.Module]:
        return {"net": self.net} if self.net is not None else {}

    @override
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        # the L2 term is in the loss, on the rows of this batch only
        assert self.net is not None
        return {"model": torch.optim.Adam(self.net.parameters(), lr=self.config.learning_rate)}

    def batches(self, train: Interactions, generator: torch.Generator) -> Iterator[Any]:
        """Shuffled observed pairs with ``num_negatives`` unobserved items each.

        Yields:
            ``(users (b,), positives (b,), negatives (b, num_negatives))`` int64 tensors.
        """
        return pair_batches(train.csr(), self.config.batch_size, self.config.num_negatives, generator)

    @override
    def training_step(self, batch: Any, phase: str | None = None) -> dict[str, torch.Tensor]:
        assert self.net is not None
        users, pos, neg = batch
        pos_scores = self.net(users, pos)  # (b,)
        neg_scores = self.net(users, neg)  # (b, num_negatives)
        rank = bpr_loss(pos_scores, neg_scores)
        loss = rank
        if self.config.weight_decay > 0:
            reg = (
                self.net.user(users).pow(2).sum()
                + self.net.item(pos).pow(2).sum()
                + self.net.item(neg).pow(2).sum()
            ) / len(users)
            loss = loss + self.config.weight_decay * reg
        return {"loss": loss, "bpr": rank.detach()}

    # ------------------------------------------------------------------ scoring
    @override
    def score(self, users: np.ndarray) -> torch.Tensor:
        self._check_fitted()
        assert self.net is not None
        weight = self.net.user.weight
        u = torch.as_tensor(np.asarray(users, dtype=np.int64), device=weight.device)
        with torch.no_grad():
            return self.net.user(u) @ self.net.item.weight.T  # (n, num_items)

    @override
    def score_history(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        self._check_fitted()
        assert self.net is not None
        items = self.net.item.weight.detach()  # (num_items, d)
        vectors = torch.zeros((len(histories), items.shape[1]), device=items.device)
        for row, hist in enumerate(histories):
            if len(hist):
                idx = torch.as_tensor(np.unique(hist).astype(np.int64), device=items.device)
                vectors[row] = items[idx].mean(dim=0)
        return vectors @ items.T

    def pooled_item_vectors(self) -> np.ndarray:
        """Item factors ``(num_items, d)``; ``score_history`` is their mean over a history · them.

        This makes BPR a ``PooledItemVectors`` model: explanations split a fold-in
        score exactly over the distinct history items.
        """
        self._check_fitted()
        assert self.net is not None
        return self.net.item.weight.detach().float().cpu().numpy()

