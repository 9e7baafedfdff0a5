"""Tests of BERT4Rec: the contract, cloze batches and config."""

from __future__ import annotations

import numpy as np
import torch

import pytest

from ssl4rec.config.base import from_dict
from ssl4rec.errors import ConfigError
from ssl4rec.models.bert4rec import BERT4Rec, BERT4RecConfig
from ssl4rec.testing.contracts import RecommenderContract
from ssl4rec.testing.synthetic import TINY_SEQUENTIAL as TINY
from ssl4rec.testing.synthetic import cycle_data


class TestBERT4Rec(RecommenderContract):
    model_class = BERT4Rec
    # the cloze task learns the cycle more slowly than next-item training: more
    # epochs, and half of the windows mask only their last item (the serving task)
    tiny_config = BERT4RecConfig(
        **TINY, epochs=40, mask_ratio=0.3, mask_last_prob=0.5, seen_bias=True
    )
    planted = "sequence"
    planted_margin = 0.3  # test NDCG@10 on the cycle: Pop about 0.44, BERT4Rec about 0.95
    folds_in_exactly = True

    def test_attention_weights_exclude_the_mask_position(self, model):
        weights = model.attention_weights(np.array([0, 1, 2]))
        assert weights.shape == (3,) and np.all(weights >= 0) and weights.sum() <= 1.0 + 1e-6

    def test_attention_maps_leave_the_rest_to_the_mask_position(self, model):
        maps = model.attention_maps(np.array([0, 1, 2]))  # (layers, heads, 3)
        matrices = model.attention_matrices(np.array([0, 1, 2]))  # (layers, heads, L, L)
        assert model.window_positions(3).tolist() == [4, 5, 6]  # [MASK] at 7
        np.testing.assert_allclose(maps.sum(axis=-1) + matrices[..., -1, -1], 1.0, atol=1e-5)

    def test_every_position_sees_the_whole_window(self, model):
        mask = model.mask_token
        tokens = torch.tensor([[0, 2, mask, 4]])
        rows = torch.zeros(4, dtype=torch.long)
        visible = model.visible_positions(tokens[rows], torch.arange(4))  # (4, 4)
        assert visible.tolist() == [[False, True, False, True]] * 4


def test_cloze_batches_mask_items_and_target_only_masked_positions():
    data = cycle_data()
    model = BERT4Rec(**TINY)
    model._remember(data)
    model.build(data)
    gen = torch.Generator().manual_seed(0)
    for batch in model.batches(data, gen):
        tokens, targets = batch["tokens"], batch["targets"]
        masked = tokens == model.mask_token
        assert torch.equal(masked, targets > 0)
        assert masked.any(dim=1).all()  # every window predicts something


def test_config_validation():
    with pytest.raises(ConfigError, match=r"BERT4RecConfig.mask_ratio must be in \(0.0, 1.0\)"):
        BERT4RecConfig(mask_ratio=0.0)


def test_renamed_fields_name_their_new_names():
    with pytest.raises(ConfigError) as err:
        from_dict(BERT4RecConfig, {"mask_prob": 0.3, "hidden_dim": 16})
    assert err.value.problems == [
        "BERT4RecConfig: field 'mask_prob' was renamed to 'mask_ratio'",
        "BERT4RecConfig: field 'hidden_dim' was renamed to 'embedding_dim'",
    ]
