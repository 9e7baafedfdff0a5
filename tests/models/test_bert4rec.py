"""Tests of BERT4Rec."""

from __future__ import annotations

import numpy as np
import torch

import pytest

from ssl4rec.config.base import from_dict
from ssl4rec.errors import ConfigError
from ssl4rec.models.base import load_model
from ssl4rec.models.bert4rec import BERT4Rec, BERT4RecConfig
from ssl4rec.testing.synthetic import TINY_SEQUENTIAL as TINY
from ssl4rec.testing.synthetic import cycle_data
from ssl4rec.training.trainer import TrainConfig


@pytest.fixture(scope="module")
def fitted():
    model = BERT4Rec(**TINY, mask_ratio=0.3, epochs=20)
    return model.fit(cycle_data(), train_config=TrainConfig(progress=False, num_threads=1))


def test_learns_the_planted_next_item(fitted):
    hits = 0
    for start in range(12):
        recs = fitted.recommend_history([f"i{(start + t) % 12}" for t in range(5)], k=1)
        hits += int(recs.items[0, 0] == f"i{(start + 5) % 12}")
    assert hits >= 7  # chance is 1 of 12


def test_empty_and_long_histories_give_finite_scores(fitted):
    scores = fitted.score_history([np.array([], dtype=np.int64), np.arange(40) % 12])
    assert scores.shape == (2, 12) and torch.isfinite(scores).all()


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


def test_item_contributions_exclude_the_mask_position(fitted):
    weights = fitted.item_contributions(np.array([0, 1, 2]), item=3)
    assert weights.shape == (3,) and np.all(weights >= 0) and weights.sum() <= 1.0 + 1e-6


def test_save_load_round_trip(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    hist = [np.array([4, 5, 6])]
    torch.testing.assert_close(loaded.score_history(hist), fitted.score_history(hist))


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
