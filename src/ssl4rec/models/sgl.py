"""SGL: LightGCN with a contrastive task between two randomly dropped graphs.

References:
    Jiancan Wu, Xiang Wang, Fuli Feng, Xiangnan He, Liang Chen, Jianxun Lian, Xing Xie.
    Self-supervised Graph Learning for Recommendation. SIGIR 2021.
"""

from __future__ import annotations

import torch
from typing_extensions import override

from ssl4rec.models.configs.sgl import SGLConfig
from ssl4rec.models.nn.graph import GraphRecommender, propagate

__all__ = ["SGL", "SGLConfig"]


class SGL(GraphRecommender):
    """BPR on the full graph plus InfoNCE between two dropped views of it.

    Once per epoch, two subgraphs are drawn: each keeps every user-item edge with
    probability ``1 - drop_ratio`` (``augmentation: edge``, SGL-ED) or drops every
    edge of a node with probability ``drop_ratio`` (``node``, SGL-ND); social edges,
    if any, stay. In every step a batch's distinct users and items, propagated over
    each subgraph, must recognise themselves across the two views (InfoNCE with τ
    ``ssl_temperature``, in-batch negatives); the loss is BPR + λ (InfoNCE_users +
    InfoNCE_items) + L2.
    """

    name = "sgl"
    config_class = SGLConfig

    def __init__(self, config: SGLConfig | None = None, **kwargs: object) -> None:
        super().__init__(config, **kwargs)  # type: ignore[arg-type]
        self._views: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def sgl_config(self) -> SGLConfig:
        """The config, typed."""
        assert isinstance(self.config, SGLConfig)
        return self.config

    @override
    def on_epoch_batches(self, generator: torch.Generator) -> None:
        self._views = (self._dropped_graph(generator), self._dropped_graph(generator))

    def _dropped_graph(self, generator: torch.Generator) -> torch.Tensor:
        """A normalized adjacency of the training graph with edges or nodes dropped."""
        users, items = self.interaction_edges()
        ratio = self.sgl_config.drop_ratio
        if self.sgl_config.augmentation == "edge":
            keep = torch.rand(len(users), generator=generator).numpy() >= ratio
        else:
            kept_users = torch.rand(self.num_users, generator=generator).numpy() >= ratio
            kept_items = torch.rand(self.num_items, generator=generator).numpy() >= ratio
            keep = kept_users[users] & kept_items[items]
        return self.graph(users[keep], items[keep])

    @override
    def contrastive_views(
        self, final: torch.Tensor, layers: list[torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        if self._views is None:
            return None
        assert self.net is not None
        ego, num_layers = self.net.ego(), self.sgl_config.num_layers
        view1, _ = propagate(self._views[0], ego, num_layers)
        view2, _ = propagate(self._views[1], ego, num_layers)
        return view1, view2
