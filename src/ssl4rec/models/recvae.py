"""RecVAE: Mult-VAE with a composite prior and alternating updates (Shenbin et al., WSDM 2020)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from typing_extensions import override

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.configs.recvae import RecVAEConfig
from ssl4rec.models.nn.autoencoder import AutoencoderRecommender
from ssl4rec.models.nn.init import seeded
from ssl4rec.models.nn.losses import log_normal
from ssl4rec.models.nn.sparse_input import (
    SparseInputLinear,
    corrupt_rows,
    densify,
    input_linear,
    row_sums,
)

__all__ = ["RecVAE", "RecVAEConfig"]

logger = logging.getLogger(__name__)

_MIXTURE = (3 / 20, 3 / 4, 1 / 10)  # standard normal, old posterior, wide normal
_WIDE_LOGVAR = 10.0


class _Encoder(nn.Module):
    """Five densely connected swish + layer-norm layers -> (mu, logvar)."""

    def __init__(
        self, num_items: int, hidden: int, latent: int, *, sparse: bool, num_layers: int = 5
    ) -> None:
        super().__init__()
        first = input_linear(num_items, hidden, sparse=sparse, xavier=False)
        self.fcs = nn.ModuleList(
            [first, *(nn.Linear(hidden, hidden) for _ in range(1, num_layers))]
        )
        self.norms = nn.ModuleList([nn.LayerNorm(hidden, eps=0.1) for _ in range(num_layers)])
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)

    def forward(self, x: torch.Tensor, dropout: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows ``(batch, num_items)`` (dense or sparse CSR) -> mu, logvar ``(batch, latent)``."""
        h = corrupt_rows(x, dropout, normalize=True)
        outputs: list[torch.Tensor] = []
        for fc, norm in zip(self.fcs, self.norms, strict=True):
            pre = fc(h) + sum(outputs)  # dense connections to every earlier layer
            h = norm(F.silu(pre))
            outputs.append(h)
        return self.mu(h), self.logvar(h)


class _CompositePrior(nn.Module):
    """log p(z) under the mixture of N(0, I), the old encoder's posterior and N(0, e^10 I)."""

    def __init__(self, num_items: int, hidden: int, latent: int, *, sparse: bool) -> None:
        super().__init__()
        self.old_encoder = _Encoder(num_items, hidden, latent, sparse=sparse)
        self.old_encoder.requires_grad_(False)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Rows ``(batch, num_items)``, z ``(batch, latent)`` -> log density ``(batch, latent)``."""
        old_mu, old_logvar = self.old_encoder(x, 0.0)
        zero = torch.zeros_like(z)
        parts = [
            log_normal(z, zero, zero) + math.log(_MIXTURE[0]),
            log_normal(z, old_mu, old_logvar) + math.log(_MIXTURE[1]),
            log_normal(z, zero, zero + _WIDE_LOGVAR) + math.log(_MIXTURE[2]),
        ]
        return torch.logsumexp(torch.stack(parts, dim=-1), dim=-1)  # (batch, latent)


def _xavier_init(module: nn.Module) -> None:
    """Xavier-normal weights and zero biases for every linear layer of ``module``."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)
        elif isinstance(layer, SparseInputLinear):
            # its weight is stored (in, out): draw (out, in) as nn.Linear does, so that a
            # seeded sparse model has the dense model's weights, transposed
            with torch.no_grad():
                drawn = nn.init.xavier_normal_(torch.empty(layer.weight.shape[::-1]))
                layer.weight.copy_(drawn.T)
            nn.init.zeros_(layer.bias)


class _RecVAENet(nn.Module):
    def __init__(self, num_items: int, config: RecVAEConfig) -> None:
        super().__init__()
        hidden, latent = config.hidden_dims[0], config.embedding_dim
        self.noise_std = config.noise_std
        self.encoder = _Encoder(num_items, hidden, latent, sparse=config.sparse_input)
        self.decoder = nn.Linear(latent, num_items)
        if config.init == "xavier":
            _xavier_init(self)

    def forward(self, x: torch.Tensor, dropout: float) -> tuple[torch.Tensor, ...]:
        """Rows ``(batch, num_items)`` -> logits ``(batch, num_items)``, z, mu, logvar."""
        mu, logvar = self.encoder(x, dropout)
        if not self.training:
            return self.decoder(mu), mu, mu, logvar
        z = mu + self.noise_std * torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder(z), z, mu, logvar


class RecVAE(AutoencoderRecommender[RecVAEConfig]):
    """RecVAE: a Mult-VAE with a composite prior, user-scaled β and alternating updates.

    Each epoch runs ``encoder_epochs`` passes that step only the encoder (input
    dropout on), then ``decoder_epochs`` passes that step only the decoder (no
    dropout); the prior's old encoder is a copy of the encoder taken before the epoch.

    References:
        Ilya Shenbin, Anton Alekseev, Elena Tutubalina, Valentin Malykh, Sergey I.
        Nikolenko. RecVAE: a New Variational Autoencoder for Top-N Recommendations
        with Implicit Feedback. WSDM 2020.
    """

    name = "recvae"
    config_class = RecVAEConfig

    def __init__(self, config: RecVAEConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.net: _RecVAENet | None = None
        self.prior: _CompositePrior | None = None

    @override
    def build(self, data: Interactions) -> None:
        cfg = self.config
        with seeded(cfg.seed):
            self.net = _RecVAENet(data.num_items, cfg)
            self.prior = _CompositePrior(
                data.num_items, cfg.hidden_dims[0], cfg.embedding_dim, sparse=cfg.sparse_input
            )
        self.prior.old_encoder.load_state_dict(self.net.encoder.state_dict())

    @override
    def modules(self) -> dict[str, nn.Module]:
        if self.net is None or self.prior is None:
            return {}
        return {"net": self.net, "prior": self.prior}

    @override
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        assert self.net is not None
        cfg = self.config

        def adam(module: nn.Module) -> torch.optim.Optimizer:
            return torch.optim.Adam(
                module.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
            )

        return {"encoder": adam(self.net.encoder), "decoder": adam(self.net.decoder)}

    @override
    def training_phases(self, epoch: int) -> Sequence[str]:
        return ["encoder"] * self.config.encoder_epochs + ["decoder"] * self.config.decoder_epochs

    @override
    def on_epoch_start(self, epoch: int) -> None:
        # the old-posterior term of the prior follows the encoder, one epoch behind
        assert self.net is not None and self.prior is not None
        self.prior.old_encoder.load_state_dict(self.net.encoder.state_dict())

    @override
    def training_step(self, batch: Any, phase: str | None = None) -> dict[str, torch.Tensor]:
        assert self.net is not None and self.prior is not None
        _, x = batch  # (users (b,), rows (b, num_items))
        dropout = self.config.dropout if phase == "encoder" else 0.0
        logits, z, mu, logvar = self.net(x, dropout)
        nll = -(F.log_softmax(logits, dim=1) * densify(x)).sum(dim=1).mean()
        beta = self.config.gamma * row_sums(x)  # (batch,) user-scaled KL weight
        kl_per_user = (log_normal(z, mu, logvar) - self.prior(x, z)).sum(dim=1)  # (batch,)
        kl = (kl_per_user * beta).mean()
        return {"loss": nll + kl, "nll": nll.detach(), "kl": kl.detach()}

    def reconstruct(self, x: torch.Tensor, users: torch.Tensor | None) -> torch.Tensor:
        """Item logits ``(b, num_items)`` from the posterior mean of input rows ``x``."""
        assert self.net is not None
        return self.net(x, 0.0)[0]
