"""EASE under the recommender contract."""

from __future__ import annotations

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.models.ease import EASE, EASEConfig
from ssl4rec.testing.contracts import RecommenderContract


class TestEASE(RecommenderContract):
    model_class = EASE
    tiny_config = EASEConfig(l2_reg=10.0)
    folds_in_exactly = True


def test_l2_reg_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="l2_reg"):
        EASEConfig(l2_reg=0.0)
