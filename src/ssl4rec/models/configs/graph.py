"""Config fields shared by the graph models; importing it imports no torch.

``GraphConfig`` is the base of LightGCN's, SGL's, SimGCL's and XSimGCL's configs (the
models share ``ssl4rec.models.nn.graph``); ``ContrastiveGraphConfig`` adds the
InfoNCE weight and temperature of the three self-supervised ones. Defaults follow LightGCN (He et al., SIGIR
2020): 64-dimensional embeddings, 3 propagation layers, Adam at 1e-3, an L2 weight of
1e-4 on the embeddings of each batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.config import GradientConfig

__all__ = ["ContrastiveGraphConfig", "GraphConfig"]


@dataclass(frozen=True, kw_only=True)
class GraphConfig(GradientConfig):
    """Fields shared by the graph models (user-item bipartite graph, optional social edges)."""

    embedding_dim: int = 64
    """Length of each user and item embedding; > 0."""
    num_layers: int = 3
    """Propagation layers over the normalized adjacency; ≥ 1."""
    init_std: float | None = 0.1
    """Standard deviation of the normal initialisation of the layer-0 embeddings; > 0.
    ``None``: Xavier-uniform per block (the papers' text), whose scale falls with the
    number of users and items and stalls the contrastive models (docs/graph.md)."""
    batch_size: int = 2048
    """Observed (user, item) pairs per batch, each with one sampled negative item."""
    reg_weight: float = 1e-4
    """L2 penalty on the layer-0 embeddings of each batch's users and items (in the loss); ≥ 0."""
    social_weight: float = 0.1
    """With ``data.social``: weight of the social contrastive term (a user's graph
    embedding against their embedding from the social graph alone); ≥ 0."""
    social_temperature: float = 0.2
    """With ``data.social``: temperature of the social contrastive term; > 0."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.positive_fields(self, "embedding_dim", "num_layers", "social_temperature")
        checks.non_negative("reg_weight", self.reg_weight)
        checks.non_negative("social_weight", self.social_weight)
        if self.init_std is not None:
            checks.positive("init_std", self.init_std)


@dataclass(frozen=True, kw_only=True)
class ContrastiveGraphConfig(GraphConfig):
    """Fields of the graph models with a contrastive term between two node views (SGL, SimGCL, XSimGCL)."""

    ssl_weight: float = 0.1
    """λ: weight of the contrastive (InfoNCE) term beside BPR; ≥ 0 (0: LightGCN's loss)."""
    ssl_temperature: float = 0.2
    """τ of the InfoNCE term; > 0."""
    ssl_warmup_epochs: int = 5
    """Epochs trained on BPR alone before the InfoNCE term is switched on; ≥ 0. From
    small random embeddings the InfoNCE gradient (∝ λ / (τ ‖e‖)) is tens to thousands of
    times BPR's (∝ ‖e‖), so under Adam BPR barely moves and the model stays near
    random ranking for hundreds of steps (docs/graph.md, "Why a warm-up")."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.non_negative("ssl_weight", self.ssl_weight)
        checks.positive("ssl_temperature", self.ssl_temperature)
        checks.non_negative("ssl_warmup_epochs", self.ssl_warmup_epochs)
