"""SimGCL: graph contrastive learning with noise-perturbed views, no graph augmentation.

References:
    Junliang Yu, Hongzhi Yin, Xin Xia, Tong Chen, Lizhen Cui, Quoc Viet Hung Nguyen.
    Are Graph Augmentations Necessary? Simple Graph Contrastive Learning for
    Recommendation. SIGIR 2022.
"""

from __future__ import annotations

import torch
from typing_extensions import override

from ssl4rec.models.configs.simgcl import SimGCLConfig
from ssl4rec.models.nn.graph import GraphRecommender, propagate

__all__ = ["SimGCL", "SimGCLConfig"]


class SimGCL(GraphRecommender):
    """BPR on clean propagation plus InfoNCE between two noisy propagations.

    Each view adds random noise of length ``noise_eps`` (in each embedding's own
    orthant) after every layer; layers 1..K are averaged (layer 0 left out, as in the
    paper). The loss is BPR + λ (InfoNCE_users + InfoNCE_items) over the batch's
    distinct users and positive items + L2. Scoring uses the clean propagation.
    """

    name = "simgcl"
    config_class = SimGCLConfig
    include_ego = False

    @property
    def simgcl_config(self) -> SimGCLConfig:
        """The config, typed."""
        assert isinstance(self.config, SimGCLConfig)
        return self.config

    @override
    def contrastive_views(
        self, final: torch.Tensor, layers: list[torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        assert self.net is not None
        cfg = self.simgcl_config
        graph, ego = self.graph(), self.net.ego()
        view1, _ = propagate(graph, ego, cfg.num_layers, include_ego=False, noise_eps=cfg.noise_eps)
        view2, _ = propagate(graph, ego, cfg.num_layers, include_ego=False, noise_eps=cfg.noise_eps)
        return view1, view2
