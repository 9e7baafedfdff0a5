"""Mult-VAE / RecVAE options that differ between the papers and RecBole 1.2.1.

``noise_std`` scales ε of the training sample z = μ + ε·σ; RecVAE's ``init`` picks
PyTorch's default or Xavier-normal initialisation.
"""

from __future__ import annotations

import torch
from torch import nn

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.models.mult_vae import MultVAE, MultVAEConfig, _MultVAENet
from ssl4rec.models.recvae import RecVAE, RecVAEConfig, _RecVAENet
from ssl4rec.testing.synthetic import block_split

NUM_ITEMS = 30


def _rows(seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(6, NUM_ITEMS, generator=gen) < 0.3).float()


@pytest.mark.parametrize("config_class", [MultVAEConfig, RecVAEConfig])
def test_negative_noise_std_is_refused(config_class: type) -> None:
    with pytest.raises(ConfigError, match="noise_std"):
        config_class(noise_std=-0.5)


def test_unknown_recvae_init_is_refused() -> None:
    with pytest.raises(ConfigError, match="init"):
        RecVAEConfig(init="orthogonal")


def test_mult_vae_noise_std_scales_the_sample_around_the_mean() -> None:
    x = _rows()
    spreads = {}
    for std in (0.0, 0.01, 1.0):
        torch.manual_seed(0)
        net = _MultVAENet(
            NUM_ITEMS, MultVAEConfig(hidden_dims=(8,), embedding_dim=4, dropout=0.0, noise_std=std)
        )
        net.eval()
        mean_logits = net(x)[0]
        net.train()
        torch.manual_seed(1)
        spreads[std] = (net(x)[0] - mean_logits).abs().max().item()
    assert spreads[0.0] == 0.0  # z = μ: training output equals the posterior-mean output
    assert 0.0 < spreads[0.01] < spreads[1.0]


def test_recvae_noise_std_zero_samples_the_mean() -> None:
    x = _rows()
    torch.manual_seed(0)
    net = _RecVAENet(NUM_ITEMS, RecVAEConfig(hidden_dims=(8,), embedding_dim=4, noise_std=0.0))
    net.train()
    logits, z, mu, _ = net(x, 0.0)
    assert torch.equal(z, mu)
    net.eval()
    assert torch.allclose(net(x, 0.0)[0], logits)


@pytest.mark.parametrize("sparse", [False, True])
def test_recvae_xavier_init_zeroes_every_bias(sparse: bool) -> None:
    torch.manual_seed(0)
    config = RecVAEConfig(hidden_dims=(16,), embedding_dim=4, init="xavier", sparse_input=sparse)
    net = _RecVAENet(NUM_ITEMS, config)
    layers = [m for m in net.modules() if hasattr(m, "bias") and not isinstance(m, nn.LayerNorm)]
    assert len(layers) == 8  # five encoder layers, mu, logvar, decoder
    assert all(torch.count_nonzero(m.bias) == 0 for m in layers)
    torch.manual_seed(0)
    config = RecVAEConfig(hidden_dims=(16,), embedding_dim=4, init="default", sparse_input=sparse)
    default = _RecVAENet(NUM_ITEMS, config)
    assert torch.count_nonzero(default.decoder.bias) > 0  # PyTorch's default: uniform bias


def test_recvae_prior_starts_as_a_copy_of_the_xavier_encoder() -> None:
    split = block_split()
    model = RecVAE(RecVAEConfig(hidden_dims=(8,), embedding_dim=4, epochs=1, init="xavier"))
    model.build(split.train)
    assert model.net is not None and model.prior is not None
    new, old = model.net.encoder.state_dict(), model.prior.old_encoder.state_dict()
    assert all(torch.equal(new[k], old[k]) for k in new)


def test_defaults_chosen_on_validation() -> None:
    assert MultVAE().config.noise_std == 0.01
    assert RecVAE().config.noise_std == 1.0
    assert RecVAE().config.init == "xavier"
