"""RecVAE: contract, config validation, alternating phases, composite prior."""

from __future__ import annotations

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.models.recvae import RecVAE, RecVAEConfig
from ssl4rec.testing.contracts import RecommenderContract
from ssl4rec.testing.synthetic import block_split


class TestRecVAE(RecommenderContract):
    model_class = RecVAE
    tiny_config = RecVAEConfig(
        hidden_dims=(32,), embedding_dim=16, epochs=8, batch_size=32, learning_rate=1e-2
    )
    folds_in_exactly = True


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dropout", -0.1),
        ("hidden_dims", (0,)),
        ("hidden_dims", (8, 8)),
        ("gamma", -1.0),
        ("encoder_epochs", 0),
    ],
)
def test_invalid_config_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        RecVAEConfig(**{field: value})


def test_phases_alternate_encoder_then_decoder() -> None:
    model = RecVAE(encoder_epochs=3, decoder_epochs=1)
    assert list(model.training_phases(0)) == ["encoder"] * 3 + ["decoder"]


def test_decoder_phase_leaves_encoder_untouched_and_prior_follows() -> None:
    import torch

    from ssl4rec.training.trainer import TrainConfig

    split = block_split()
    model = RecVAE(RecVAEConfig(hidden_dims=(8,), embedding_dim=4, epochs=2, encoder_epochs=1))
    model.fit(split.train, train_config=TrainConfig(progress=False, device="cpu"))
    # the old encoder is a frozen copy taken at the start of the last epoch
    assert model.prior is not None and model.net is not None
    assert all(not p.requires_grad for p in model.prior.parameters())
    old = model.prior.old_encoder.state_dict()
    new = model.net.encoder.state_dict()
    assert any(not torch.equal(old[k], new[k]) for k in old)
    assert model.train_summary["epochs_run"] == 2
