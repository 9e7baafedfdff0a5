"""Mult-VAE: contract, config validation and KL annealing."""

from __future__ import annotations

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.models.mult_vae import MultVAE, MultVAEConfig
from ssl4rec.testing.contracts import RecommenderContract

TINY = MultVAEConfig(
    hidden_dims=(32,),
    embedding_dim=16,
    epochs=40,
    batch_size=32,
    learning_rate=1e-2,
    total_anneal_steps=50,
)


class TestMultVAE(RecommenderContract):
    model_class = MultVAE
    tiny_config = TINY
    folds_in_exactly = True


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dropout", -0.1),
        ("dropout", 1.0),
        ("hidden_dims", (0,)),
        ("embedding_dim", 0),
        ("anneal_cap", 1.5),
        ("anneal_cap", -0.1),
        ("activation", "gelu"),
        ("learning_rate", 0.0),
        ("total_anneal_steps", -1),
    ],
)
def test_invalid_config_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        MultVAEConfig(**{field: value})


def test_kl_weight_anneals_linearly_to_the_cap() -> None:
    model = MultVAE(anneal_cap=0.3, total_anneal_steps=10)
    model._steps_per_epoch = 4
    model.on_epoch_start(0)
    assert model.kl_weight() == 0.0
    model.on_epoch_start(1)
    assert model.kl_weight() == pytest.approx(0.4 if 0.4 < 0.3 else 0.3)
    model._step = 2
    assert model.kl_weight() == pytest.approx(0.2)
    assert MultVAE(anneal_cap=0.25, total_anneal_steps=0).kl_weight() == 0.25
