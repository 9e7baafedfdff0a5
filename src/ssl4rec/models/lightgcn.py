"""LightGCN: embeddings smoothed over the user-item graph, trained with BPR.

References:
    Xiangnan He, Kuan Deng, Xiang Wang, Yan Li, Yongdong Zhang, Meng Wang.
    LightGCN: Simplifying and Powering Graph Convolution Network for Recommendation.
    SIGIR 2020.
"""

from __future__ import annotations

from ssl4rec.models.configs.lightgcn import LightGCNConfig
from ssl4rec.models.nn.graph import GraphRecommender

__all__ = ["LightGCN", "LightGCNConfig"]


class LightGCN(GraphRecommender):
    """K light graph convolutions (no weights, no non-linearity), layers 0..K averaged.

    The only parameters are the layer-0 user and item embeddings; a score is the dot
    product of the averaged user and item embeddings. The graph, the BPR loss with L2
    on the batch's layer-0 embeddings, scoring and the social variant are shared with
    the other graph models (``ssl4rec.models.nn.graph``).
    """

    name = "lightgcn"
    config_class = LightGCNConfig
