"""Mult-VAE: variational autoencoder with a multinomial likelihood (Liang et al., WWW 2018)."""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn
from typing_extensions import override

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.configs.mult_vae import MultVAEConfig
from ssl4rec.models.nn.init import seeded
from ssl4rec.models.nn.losses import gaussian_kl, multinomial_nll
from ssl4rec.models.nn.mlp import MLP
from ssl4rec.models.nn.sparse_input import corrupt_rows, densify
from ssl4rec.models.nn.text_autoencoder import TextDecoderAutoencoder, decoder
from ssl4rec.models.nn.text_output import TextOutput

__all__ = ["MultVAE", "MultVAEConfig"]

logger = logging.getLogger(__name__)


class _MultVAENet(nn.Module):
    """Encoder q(z|x) and decoder p(x|z) over normalised binary user vectors."""

    def __init__(
        self, num_items: int, config: MultVAEConfig, text: TextOutput | None = None
    ) -> None:
        super().__init__()
        dims = [num_items, *config.hidden_dims]
        act = config.activation
        self.latent_dim = config.embedding_dim
        self.noise_std = config.noise_std
        self.drop = nn.Dropout(config.dropout)
        self.encoder = MLP(  # -> (mu, logvar)
            [*dims, 2 * config.embedding_dim], act=act, sparse_input=config.sparse_input
        )
        # the last layer scores items by ID (per-item weights) or by text (item_repr)
        self.decoder = decoder(
            [config.embedding_dim, *reversed(config.hidden_dims)], act, num_items, text
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Rows ``(batch, num_items)`` (dense or sparse CSR) -> logits ``(batch, num_items)``, mu, logvar ``(batch, d)``.

        In training mode z is sampled with the reparameterisation trick (ε scaled by
        the config's ``noise_std``); in eval mode z = mu.
        """
        h = corrupt_rows(x, self.drop, normalize=True)
        stats = self.encoder(h)  # (batch, 2 d)
        mu, logvar = stats[:, : self.latent_dim], stats[:, self.latent_dim :]
        if self.training:
            z = mu + self.noise_std * torch.randn_like(mu) * torch.exp(0.5 * logvar)
        else:
            z = mu
        return self.decoder(z), mu, logvar


class MultVAE(TextDecoderAutoencoder[MultVAEConfig]):
    """Variational autoencoder for collaborative filtering (Mult-VAE^PR).

    Loss: multinomial log-likelihood of the user's items plus β·KL, with β annealed
    linearly to ``anneal_cap``. A new user is scored by encoding their item vector.
    With ``item_repr`` ``text`` or ``id+text`` the decoder's last layer scores items
    by their text vectors (``ssl4rec.models.nn.text_output``), so items without
    training events get scores too; pass ``item_text`` then.

    References:
        Dawen Liang, Rahul G. Krishnan, Matthew D. Hoffman, Tony Jebara. Variational
        Autoencoders for Collaborative Filtering. WWW 2018.
    """

    name = "multvae"
    explanation_method = "margin-occlusion"  # the most faithful here: docs/explanations.md
    config_class = MultVAEConfig

    def __init__(self, config: MultVAEConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.net: _MultVAENet | None = None

    @override
    def build(self, data: Interactions) -> None:
        text = self.text_vectors(data)
        with seeded(self.config.seed):
            output = self.text_output(data, text)  # None for item_repr "id"
            self.net = _MultVAENet(data.num_items, self.config, output)
        self._count_steps(data)

    @override
    def modules(self) -> dict[str, nn.Module]:
        return {"net": self.net} if self.net is not None else {}

    def kl_weight(self) -> float:
        """β at the current optimizer step."""
        cfg = self.config
        if cfg.total_anneal_steps == 0:
            return cfg.anneal_cap
        return min(cfg.anneal_cap, self._step / cfg.total_anneal_steps)

    @override
    def training_step(self, batch: Any, phase: str | None = None) -> dict[str, torch.Tensor]:
        terms = self.user_losses(batch)
        return {
            "loss": terms["loss"].mean(),
            **{k: terms[k].detach().mean() for k in ("nll", "kl")},
        }

    def user_losses(self, batch: Any) -> dict[str, torch.Tensor]:
        """Each user's loss terms ``(b,)``: ``loss`` = nll + β·kl (DP-SGD clips per user)."""
        assert self.net is not None
        _, x = batch  # (users (b,), rows (b, num_items))
        logits, mu, logvar = self.net(x)
        nll = multinomial_nll(logits, densify(x), per_user=True)
        kl = gaussian_kl(mu, logvar, per_user=True)
        beta = self.kl_weight()
        self._step += 1
        return {"loss": nll + beta * kl, "nll": nll, "kl": kl}

    def set_output_prior(self, log_prior: torch.Tensor) -> None:
        """Start the item logits' bias at ``log_prior`` ``(num_items,)`` (DP-SGD's popularity prior)."""
        assert self.net is not None
        self.net.decoder.set_output_bias(log_prior)

    def reconstruct(self, x: torch.Tensor, users: torch.Tensor | None) -> torch.Tensor:
        """Item logits ``(b, num_items)`` from the posterior mean of input rows ``x``."""
        assert self.net is not None
        return self.net(x)[0]
