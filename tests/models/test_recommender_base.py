"""The Recommender base class: what it checks before handing a model to the trainer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

import pytest

from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import ConfigError
from ssl4rec.models.base import ModelConfig, Recommender
from ssl4rec.testing.synthetic import block_split


class _NoGradientConfig(Recommender[ModelConfig]):
    """Neither closed-form nor configured for gradient steps: a model definition error."""

    name = "no_gradient_config"

    def build(self, data: Interactions) -> None:
        raise AssertionError("fit must refuse before building")

    def score_history(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        return torch.zeros(len(histories), self.num_items)


def test_a_trained_model_needs_a_gradient_config() -> None:
    with pytest.raises(ConfigError, match="_NoGradientConfig is not trained by gradient steps"):
        _NoGradientConfig().fit(block_split().train)
