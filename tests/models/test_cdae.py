"""CDAE: contract, config validation, user node."""

from __future__ import annotations

import numpy as np
import torch

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.models.cdae import CDAE, CDAEConfig
from ssl4rec.testing.contracts import RecommenderContract
from ssl4rec.testing.synthetic import block_split


class TestCDAE(RecommenderContract):
    model_class = CDAE
    tiny_config = CDAEConfig(embedding_dim=16, epochs=40, batch_size=16, learning_rate=1e-2)


@pytest.mark.parametrize(
    ("field", "value"),
    [("dropout", -0.1), ("embedding_dim", 0), ("output_activation", "tanh"), ("loss", "hinge")],
)
def test_invalid_config_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        CDAEConfig(**{field: value})


def test_bce_needs_sigmoid_output() -> None:
    with pytest.raises(ConfigError, match="loss"):
        CDAEConfig(output_activation="identity", loss="bce")


def test_identity_output_with_squared_loss_trains() -> None:
    from ssl4rec.training.trainer import TrainConfig

    split = block_split()
    model = CDAE(CDAEConfig(output_activation="identity", loss="mse", embedding_dim=8, epochs=2))
    model.fit(split.train, train_config=TrainConfig(progress=False, device="cpu"))
    scores = model.score(np.arange(3))
    assert torch.isfinite(scores).all()
    # a new user (no user node) is scored from the vector alone
    assert model.score_history([np.array([0, 4])]).shape == (1, split.num_items)
