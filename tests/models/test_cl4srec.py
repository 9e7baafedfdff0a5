"""Tests of CL4SRec: the contract, augmentations, InfoNCE and joint training."""

from __future__ import annotations

import numpy as np
import torch

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.models.cl4srec import CL4SRec, CL4SRecConfig, augment, info_nce
from ssl4rec.testing.contracts import RecommenderContract
from ssl4rec.testing.synthetic import TINY_SEQUENTIAL as TINY
from ssl4rec.testing.synthetic import cycle_data


class TestCL4SRec(RecommenderContract):
    model_class = CL4SRec
    tiny_config = CL4SRecConfig(**TINY, epochs=12, seen_bias=True)
    planted = "sequence"
    planted_margin = 0.3  # test NDCG@10 on the cycle: Pop about 0.44, CL4SRec about 1.0
    folds_in_exactly = True


def test_augmentations():
    cfg = CL4SRecConfig(crop_ratio=0.5, mask_ratio=0.5, reorder_ratio=0.5)
    rng = np.random.default_rng(0)
    seq = np.arange(1, 11)
    crop = augment(seq, 0, cfg, 99, rng)
    assert len(crop) == 5 and np.all(np.diff(crop) == 1)  # contiguous
    masked = augment(seq, 1, cfg, 99, rng)
    assert (masked == 99).sum() == 5 and np.all((masked == 99) | (masked == seq))
    reordered = augment(seq, 2, cfg, 99, rng)
    assert sorted(reordered) == list(seq)
    assert len(augment(np.array([7]), 0, cfg, 99, rng)) == 1  # never empty


def test_info_nce_prefers_matching_views():
    z = torch.randn(6, 8)
    matched = info_nce(z, z + 0.01 * torch.randn(6, 8), 1.0)
    shuffled = info_nce(z, z[torch.tensor([1, 2, 3, 4, 5, 0])], 1.0)
    assert float(matched) < float(shuffled)


def test_batches_hold_two_views():
    data = cycle_data()
    model = CL4SRec(**TINY)
    model._remember(data)
    model.build(data)
    batch = next(iter(model.batches(data, torch.Generator().manual_seed(0))))
    assert batch["view1"].shape == batch["tokens"].shape == batch["view2"].shape
    terms = model.training_step(batch)
    assert set(terms) == {"loss", "rec", "cl"}
    torch.testing.assert_close(terms["loss"], terms["rec"] + 0.1 * terms["cl"])


def test_config_validation():
    with pytest.raises(ConfigError, match="crop_ratio"):
        CL4SRecConfig(crop_ratio=0.0)
