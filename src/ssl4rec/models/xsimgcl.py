"""XSimGCL: SimGCL in one pass, contrasting the final embeddings with an early layer's.

References:
    Junliang Yu, Xin Xia, Tong Chen, Lizhen Cui, Nguyen Quoc Viet Hung, Hongzhi Yin.
    XSimGCL: Towards Extremely Simple Graph Contrastive Learning for Recommendation.
    IEEE TKDE 2023.
"""

from __future__ import annotations

import torch
from typing_extensions import override

from ssl4rec.models.configs.xsimgcl import XSimGCLConfig
from ssl4rec.models.nn.graph import GraphRecommender, propagate

__all__ = ["XSimGCL", "XSimGCLConfig"]


class XSimGCL(GraphRecommender):
    """One noisy propagation serves both tasks.

    Noise of length ``noise_eps`` is added after every layer; BPR reads the mean of
    layers 1..K, and the contrastive task pairs that mean with the output of layer
    ``contrast_layer`` (l*) for the batch's distinct users and positive items. One
    propagation per step instead of SimGCL's three. Scoring uses clean propagation.
    """

    name = "xsimgcl"
    config_class = XSimGCLConfig
    include_ego = False

    @property
    def xsimgcl_config(self) -> XSimGCLConfig:
        """The config, typed."""
        assert isinstance(self.config, XSimGCLConfig)
        return self.config

    @override
    def propagate_train(self) -> tuple[torch.Tensor, list[torch.Tensor]]:
        assert self.net is not None
        cfg = self.xsimgcl_config
        return propagate(
            self.graph(), self.net.ego(), cfg.num_layers, include_ego=False, noise_eps=cfg.noise_eps
        )

    @override
    def contrastive_views(
        self, final: torch.Tensor, layers: list[torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return final, layers[self.xsimgcl_config.contrast_layer - 1]
