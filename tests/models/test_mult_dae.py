"""Mult-DAE: contract and config validation."""

from __future__ import annotations

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.models.mult_dae import MultDAE, MultDAEConfig
from ssl4rec.testing.contracts import RecommenderContract


class TestMultDAE(RecommenderContract):
    model_class = MultDAE
    tiny_config = MultDAEConfig(
        hidden_dims=(32,), embedding_dim=16, epochs=30, batch_size=32, learning_rate=1e-2
    )
    folds_in_exactly = True


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dropout", -0.5),
        ("hidden_dims", (16, 0)),
        ("embedding_dim", -1),
        ("batch_size", 0),
        ("weight_decay", -1.0),
    ],
)
def test_invalid_config_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        MultDAEConfig(**{field: value})


def test_all_problems_reported_at_once() -> None:
    with pytest.raises(ConfigError, match=r"(?s)^(?=.*dropout)(?=.*embedding_dim)"):
        MultDAEConfig(dropout=-1.0, embedding_dim=0)
