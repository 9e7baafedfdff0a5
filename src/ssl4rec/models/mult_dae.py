"""Mult-DAE: denoising autoencoder with a multinomial likelihood (Liang et al., WWW 2018)."""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn
from typing_extensions import override

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.configs.mult_dae import MultDAEConfig
from ssl4rec.models.nn.init import seeded
from ssl4rec.models.nn.losses import multinomial_nll
from ssl4rec.models.nn.mlp import MLP
from ssl4rec.models.nn.sparse_input import corrupt_rows, densify
from ssl4rec.models.nn.text_autoencoder import TextDecoderAutoencoder, decoder
from ssl4rec.models.nn.text_output import TextOutput

__all__ = ["MultDAE", "MultDAEConfig"]

logger = logging.getLogger(__name__)


class _MultDAENet(nn.Module):
    """Dropout-corrupted, L2-normalised user vector -> code -> item logits."""

    def __init__(
        self, num_items: int, config: MultDAEConfig, text: TextOutput | None = None
    ) -> None:
        super().__init__()
        dims = [num_items, *config.hidden_dims, config.embedding_dim]
        self.drop = nn.Dropout(config.dropout)
        # the code layer is activated too (unlike the VAE's mean/variance head)
        self.encoder = MLP(
            dims,
            act=config.activation,
            last_act=config.activation,
            sparse_input=config.sparse_input,
        )
        # the last layer scores items by ID (per-item weights) or by text (item_repr)
        self.decoder = decoder(
            [config.embedding_dim, *reversed(config.hidden_dims)],
            config.activation,
            num_items,
            text,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Rows ``(batch, num_items)``, dense or sparse CSR -> logits ``(batch, num_items)``."""
        return self.decoder(self.encoder(corrupt_rows(x, self.drop, normalize=True)))


class MultDAE(TextDecoderAutoencoder[MultDAEConfig]):
    """Denoising autoencoder for collaborative filtering (Mult-DAE).

    Loss: multinomial log-likelihood of the user's items given a dropout-corrupted
    input. A new user is scored by passing their item vector through the network.
    ``item_repr`` ``text`` or ``id+text``: the decoder's last layer scores items by
    their text vectors (as in ``MultVAE``); pass ``item_text`` then.

    References:
        Dawen Liang, Rahul G. Krishnan, Matthew D. Hoffman, Tony Jebara. Variational
        Autoencoders for Collaborative Filtering. WWW 2018.
    """

    name = "multdae"
    config_class = MultDAEConfig

    def __init__(self, config: MultDAEConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.net: _MultDAENet | None = None

    @override
    def build(self, data: Interactions) -> None:
        text = self.text_vectors(data)
        with seeded(self.config.seed):
            output = self.text_output(data, text)  # None for item_repr "id"
            self.net = _MultDAENet(data.num_items, self.config, output)

    @override
    def modules(self) -> dict[str, nn.Module]:
        return {"net": self.net} if self.net is not None else {}

    @override
    def training_step(self, batch: Any, phase: str | None = None) -> dict[str, torch.Tensor]:
        return {"loss": self.user_losses(batch)["loss"].mean()}

    def user_losses(self, batch: Any) -> dict[str, torch.Tensor]:
        """Each user's loss ``(b,)`` under ``loss`` (DP-SGD clips per user)."""
        assert self.net is not None
        _, x = batch  # (users (b,), rows (b, num_items))
        return {"loss": multinomial_nll(self.net(x), densify(x), per_user=True)}

    def set_output_prior(self, log_prior: torch.Tensor) -> None:
        """Start the item logits' bias at ``log_prior`` ``(num_items,)`` (DP-SGD's popularity prior)."""
        assert self.net is not None
        self.net.decoder.set_output_bias(log_prior)

    def reconstruct(self, x: torch.Tensor, users: torch.Tensor | None) -> torch.Tensor:
        """Item logits ``(b, num_items)`` of input rows ``x`` (no noise at scoring)."""
        assert self.net is not None
        return self.net(x)
