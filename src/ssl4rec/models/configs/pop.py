"""Pop's config (the model: ``ssl4rec.models.pop``); importing it imports no torch."""

from __future__ import annotations

from dataclasses import dataclass

from ssl4rec.models.config import ModelConfig

__all__ = ["PopConfig"]


@dataclass(frozen=True, kw_only=True)
class PopConfig(ModelConfig):
    """Pop has no hyperparameters beyond the shared ``seed``."""
