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


def test_a_catalog_beyond_the_memory_wall_is_refused_clearly(monkeypatch) -> None:
    import re

    from ssl4rec.models import ease
    from ssl4rec.testing.synthetic import block_split

    split = block_split()  # 48 items: 36 × 48² bytes ≈ 81 KiB
    monkeypatch.setattr(ease, "available_memory", lambda: 10_000)
    with pytest.raises(ConfigError, match=re.escape("EASE on 48 items needs about")) as err:
        ease.EASE().fit(split.train)
    assert "GiB are available" in str(err.value) and "sparse_input" in str(err.value)
    assert ease.ease_memory(26_000) < 24 * 2**30 < ease.ease_memory(27_000)
    free = ease.available_memory()
    assert free is None or free > 0
