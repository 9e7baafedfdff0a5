"""CDAE: collaborative denoising autoencoder with a user node (Wu et al., WSDM 2016)."""

from __future__ import annotations

import logging
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from typing_extensions import override

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.configs.cdae import CDAEConfig
from ssl4rec.models.nn.autoencoder import AutoencoderRecommender
from ssl4rec.models.nn.init import seeded
from ssl4rec.models.nn.mlp import activation
from ssl4rec.models.nn.sparse_input import corrupt_rows, densify, input_linear

__all__ = ["CDAE", "CDAEConfig"]

logger = logging.getLogger(__name__)


class _CDAENet(nn.Module):
    """h = act(W ỹ_u + V_u + b); output logits = W' h + b'."""

    def __init__(self, num_users: int, num_items: int, config: CDAEConfig) -> None:
        super().__init__()
        self.drop = nn.Dropout(config.dropout)
        self.user_node = nn.Embedding(num_users, config.embedding_dim)
        nn.init.zeros_(self.user_node.weight)
        self.encoder = input_linear(
            num_items, config.embedding_dim, sparse=config.sparse_input, xavier=False
        )
        self.decoder = nn.Linear(config.embedding_dim, num_items)
        self.act = activation(config.hidden_activation)

    def forward(self, x: torch.Tensor, users: torch.Tensor | None) -> torch.Tensor:
        """Rows ``(batch, num_items)`` (dense or sparse CSR), users ``(batch,)`` or None -> logits ``(batch, num_items)``.

        Without users (fold-in of a new user) the user node is zero, its initial value.
        """
        h = self.encoder(corrupt_rows(x, self.drop, normalize=False))  # (batch, embedding_dim)
        if users is not None:
            h = h + self.user_node(users)
        return self.decoder(self.act(h))


class CDAE(AutoencoderRecommender[CDAEConfig]):
    """Collaborative Denoising Auto-Encoder.

    A one-hidden-layer denoising autoencoder over the user's item vector, with a
    learned per-user input node. Known users are scored with their node; a new user
    (``score_history``) with a zero node, so no retraining is needed.

    References:
        Yao Wu, Christopher DuBois, Alice X. Zheng, Martin Ester. Collaborative
        Denoising Auto-Encoders for Top-N Recommender Systems. WSDM 2016.
    """

    name = "cdae"
    config_class = CDAEConfig
    dp_refusal = "its per-user embedding would be released with the weights (the user's data itself)"

    def __init__(self, config: CDAEConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.net: _CDAENet | None = None

    @override
    def build(self, data: Interactions) -> None:
        with seeded(self.config.seed):
            self.net = _CDAENet(data.num_users, data.num_items, self.config)

    @override
    def modules(self) -> dict[str, nn.Module]:
        return {"net": self.net} if self.net is not None else {}

    @override
    def training_step(self, batch: Any, phase: str | None = None) -> dict[str, torch.Tensor]:
        assert self.net is not None
        users, x = batch  # (b,), (b, num_items)
        logits = self.net(x, users)
        x = densify(x)
        if self.config.loss == "bce":
            loss = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1).mean()
        else:
            loss = (logits - x).pow(2).sum(1).mean()
        return {"loss": loss}

    def reconstruct(self, x: torch.Tensor, users: torch.Tensor | None) -> torch.Tensor:
        """Item logits ``(b, num_items)`` of input rows ``x`` (and the users' vectors)."""
        # sigmoid is monotone: ranking on logits avoids ties from saturation
        assert self.net is not None
        return self.net(x, users)
