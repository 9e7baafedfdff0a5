"""CFGAN: vector-wise collaborative-filtering GAN over purchase vectors (Chae et al., CIKM 2018)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from typing_extensions import override

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.configs.cfgan import CFGANConfig
from ssl4rec.models.nn.autoencoder import AutoencoderRecommender
from ssl4rec.models.nn.init import seeded
from ssl4rec.models.nn.mlp import MLP

__all__ = ["CFGAN", "CFGANConfig"]

logger = logging.getLogger(__name__)


class _Generator(nn.Module):
    """Condition vector (the user's purchase vector) -> purchase probabilities."""

    def __init__(self, num_items: int, hidden: Sequence[int]) -> None:
        super().__init__()
        self.mlp = MLP([num_items, *hidden, num_items], act="sigmoid", last_act="identity")

    def forward(self, condition: torch.Tensor) -> torch.Tensor:
        """``(batch, num_items)`` -> logits ``(batch, num_items)`` (sigmoid gives r̂_u)."""
        return self.mlp(condition)


class _Discriminator(nn.Module):
    """(purchase vector, condition vector) -> logit of 'real'."""

    def __init__(self, num_items: int, hidden: Sequence[int]) -> None:
        super().__init__()
        self.mlp = MLP([2 * num_items, *hidden, 1], act="sigmoid", last_act="identity")

    def forward(self, vector: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """``(batch, num_items)`` twice -> logits ``(batch,)``."""
        return self.mlp(torch.cat([vector, condition], dim=1)).squeeze(1)


class CFGAN(AutoencoderRecommender[CFGANConfig]):
    """CFGAN with zero-reconstruction (ZR) and partial-masking (PM) negative sampling.

    The generator G maps a user's purchase vector c_u to a real-valued purchase
    vector r̂_u; the discriminator D tells real (r_u, c_u) from fake
    (r̂_u ⊙ (e_u + k_u), c_u), where e_u marks purchased items and k_u a PM sample of
    unpurchased ones, so G must push those towards 0. ZR adds
    α·Σ_{j ∈ ZR sample} r̂_uj² to G's loss. Each epoch runs ``discriminator_steps``
    passes (phase ``"discriminator"``) then ``generator_steps`` passes. A new user is
    scored by G from their purchase vector.

    References:
        Dong-Kyu Chae, Jin-Soo Kang, Sang-Wook Kim, Jung-Tae Lee. CFGAN: A Generic
        Collaborative Filtering Framework based on Generative Adversarial Networks.
        CIKM 2018.
    """

    name = "cfgan"
    config_class = CFGANConfig

    def __init__(self, config: CFGANConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.generator: _Generator | None = None
        self.discriminator: _Discriminator | None = None

    @override
    def build(self, data: Interactions) -> None:
        cfg = self.config
        with seeded(cfg.seed):
            self.generator = _Generator(data.num_items, cfg.hidden_dims)
            self.discriminator = _Discriminator(data.num_items, cfg.discriminator_hidden_dims)

    @override
    def modules(self) -> dict[str, nn.Module]:
        if self.generator is None or self.discriminator is None:
            return {}
        return {"generator": self.generator, "discriminator": self.discriminator}

    @override
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        assert self.generator is not None and self.discriminator is not None
        cfg = self.config
        return {
            "discriminator": torch.optim.Adam(
                self.discriminator.parameters(), lr=cfg.learning_rate
            ),
            "generator": torch.optim.Adam(
                self.generator.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
            ),
        }

    @override
    def training_phases(self, epoch: int) -> Sequence[str]:
        cfg = self.config
        return ["discriminator"] * cfg.discriminator_steps + ["generator"] * cfg.generator_steps

    @staticmethod
    def _negative_mask(x: torch.Tensor, ratio: float) -> torch.Tensor:
        """Bernoulli(ratio) sample of the unpurchased entries of ``x`` (``(b, n)`` 0/1)."""
        if ratio <= 0:
            return torch.zeros_like(x)
        return ((torch.rand_like(x) < ratio) & (x == 0)).float()

    @override
    def training_step(self, batch: Any, phase: str | None = None) -> dict[str, torch.Tensor]:
        assert self.generator is not None and self.discriminator is not None
        _, x = batch  # (users (b,), purchase vectors (b, num_items))
        pm = self._negative_mask(x, self.config.pm_ratio)  # k_u
        if phase == "discriminator":
            with torch.no_grad():
                fake = torch.sigmoid(self.generator(x)) * (x + pm)  # r̂_u ⊙ (e_u + k_u)
            real_logit = self.discriminator(x, x)
            fake_logit = self.discriminator(fake, x)
            loss = F.binary_cross_entropy_with_logits(
                real_logit, torch.ones_like(real_logit)
            ) + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit))
            return {"loss": loss}
        recon = torch.sigmoid(self.generator(x))  # r̂_u, (b, num_items)
        fake_logit = self.discriminator(recon * (x + pm), x)
        adversarial = F.binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))
        zr = self._negative_mask(x, self.config.zr_ratio)
        zero_recon = (recon.pow(2) * zr).sum(dim=1).mean()
        loss = adversarial + self.config.zr_weight * zero_recon
        return {"loss": loss, "adversarial": adversarial.detach(), "zr": zero_recon.detach()}

    def reconstruct(self, x: torch.Tensor, users: torch.Tensor | None) -> torch.Tensor:
        """Generated purchase vectors ``(b, num_items)`` of input rows ``x``."""
        assert self.generator is not None
        return self.generator(x)
