"""DP-Pop under the recommender contract (noisy counts: no planted-signal margin)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ssl4rec.data.splits import Split
from ssl4rec.models.base import load_model
from ssl4rec.models.dp_pop import DPPop
from ssl4rec.testing.contracts import RecommenderContract


class TestDPPop(RecommenderContract):
    model_class = DPPop
    planted_margin = None
    folds_in_exactly = True

    def test_save_load_identical_scores(self, model: Any, split: Split, tmp_path: Any) -> None:
        """A private model is saved without its users: the scores of histories match."""
        model.save(tmp_path / "model")
        loaded = load_model(tmp_path / "model")
        assert type(loaded) is type(model) and loaded.config == model.config
        assert loaded.num_users == 0 and loaded.privacy["unit"] == "user"
        histories = [np.array([0, 1]), np.array([], dtype=np.int64)]
        assert torch.equal(loaded.score_history(histories), model.score_history(histories))
