"""LightGCN's config (the model: ``ssl4rec.models.lightgcn``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass

from ssl4rec.models.configs.graph import GraphConfig

__all__ = ["LightGCNConfig"]


@dataclass(frozen=True, kw_only=True)
class LightGCNConfig(GraphConfig):
    """Hyperparameters of LightGCN (all in ``GraphConfig``)."""
