"""CFGAN: contract, config validation, negative sampling masks."""

from __future__ import annotations

import torch

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.models.cfgan import CFGAN, CFGANConfig
from ssl4rec.testing.contracts import RecommenderContract


class TestCFGAN(RecommenderContract):
    model_class = CFGAN
    tiny_config = CFGANConfig(
        hidden_dims=(32,),
        discriminator_hidden_dims=(16,),
        epochs=60,
        batch_size=8,
        learning_rate=1e-2,
    )
    folds_in_exactly = True
    # validation NDCG stays flat for 10-30 epochs before the generator finds the
    # blocks; early stopping would end the run on that plateau (the best epoch is
    # still restored)
    train_settings = {"patience": None}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("zr_ratio", 1.5),
        ("pm_ratio", -0.1),
        ("zr_weight", -1.0),
        ("hidden_dims", (0,)),
        ("discriminator_hidden_dims", (4, -1)),
        ("generator_steps", 0),
    ],
)
def test_invalid_config_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        CFGANConfig(**{field: value})


def test_negative_masks_only_touch_unpurchased_items() -> None:
    x = (torch.rand(50, 40) < 0.3).float()
    mask = CFGAN._negative_mask(x, 0.7)
    assert not (mask.bool() & x.bool()).any()
    share = mask.sum() / (x == 0).sum()
    assert 0.6 < float(share) < 0.8
    assert CFGAN._negative_mask(x, 0.0).sum() == 0


def test_phases_discriminator_then_generator() -> None:
    model = CFGAN(discriminator_steps=2, generator_steps=1)
    assert list(model.training_phases(0)) == ["discriminator", "discriminator", "generator"]
