"""Conformance tests every recommender inherits (STYLE.md C9).

A model's test file subclasses ``RecommenderContract`` and sets the class
attributes; pytest collects the inherited tests::

    class TestMultVAE(RecommenderContract):
        model_class = MultVAE
        tiny_config = MultVAEConfig(hidden_dims=(16,), embedding_dim=8, epochs=5)

The contract fits the model once per test class on a tiny block-diagonal dataset
(``ssl4rec.testing.synthetic``) and checks construction, config round trips,
scoring (also of empty, one-item and over-long histories), recommending, errors,
save/load, determinism and the planted signal (above Pop by a margin that a seeded
random scorer does not reach).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, ClassVar, Literal

import numpy as np
import torch
import yaml

import pytest

from ssl4rec.config.base import from_dict, to_dict
from ssl4rec.data.splits import Split
from ssl4rec.errors import NotFittedError, UnknownIdError
from ssl4rec.evaluation.evaluator import Scorer, evaluate
from ssl4rec.models.base import ModelConfig, Recommender, load_model
from ssl4rec.testing.fakes import RandomScorer
from ssl4rec.testing.synthetic import block_split, cycle_split

__all__ = ["RecommenderContract"]


class RecommenderContract:
    """Mixin of inherited tests for one ``Recommender`` subclass.

    Attributes:
        model_class: The model under test.
        tiny_config: A config that fits the tiny data in a few seconds on CPU
            (``None`` = the default config).
        train_settings: Keyword arguments for ``TrainConfig`` (trained models only).
        max_fit_seconds: Upper bound on one fit of the tiny data.
        planted_margin: How much the model's test NDCG@10 must exceed Pop's; a
            seeded random scorer must stay below that threshold, so the check is not
            met by chance. ``None`` only for the baseline itself (Pop), which skips
            both planted-signal checks.
        folds_in_exactly: ``score_history`` of a training history equals ``score``
            of that user (true for models without per-user parameters).
        planted: the planted-signal data: ``"blocks"`` (co-occurrence groups, for
            collaborative models) or ``"sequence"`` (a deterministic next item, for
            sequential models).
    """

    model_class: ClassVar[type[Recommender[Any]]]
    tiny_config: ClassVar[ModelConfig | None] = None
    train_settings: ClassVar[dict[str, Any]] = {}
    max_fit_seconds: ClassVar[float] = 30.0
    planted_margin: ClassVar[float | None] = 0.1
    folds_in_exactly: ClassVar[bool] = False
    planted: ClassVar[Literal["blocks", "sequence"]] = "blocks"

    # ------------------------------------------------------------------ helpers
    def make_config(self) -> ModelConfig:
        """The config under test: ``tiny_config`` or the default."""
        return self.tiny_config if self.tiny_config is not None else self.model_class.config_class()

    def fit_model(self, split: Split) -> Recommender[Any]:
        """A new model fitted on ``split`` with ``train_settings`` (one CPU thread)."""
        from ssl4rec.training.trainer import TrainConfig

        # one thread: tiny tensors only lose from thread hand-offs
        settings = {"progress": False, "device": "cpu", "num_threads": 1, **self.train_settings}
        model = self.model_class(self.make_config())
        return model.fit(split.train, valid=split.valid, train_config=TrainConfig(**settings))

    @pytest.fixture(scope="class")
    def split(self) -> Split:
        """The planted-signal split (see ``planted``), built once per test class."""
        return cycle_split() if self.planted == "sequence" else block_split()

    @pytest.fixture(scope="class")
    def fitted(self, split: Split) -> tuple[Recommender[Any], float]:
        """The model fitted once per test class, with the seconds the fit took."""
        start = time.perf_counter()
        model = self.fit_model(split)
        return model, time.perf_counter() - start

    @pytest.fixture
    def model(self, fitted: tuple[Recommender[Any], float]) -> Recommender[Any]:
        """The fitted model."""
        return fitted[0]

    # ------------------------------------------------------------------ construction
    def test_default_construction(self) -> None:
        """A model builds from its default config and is not fitted until ``fit``."""
        model = self.model_class()
        assert model.config == self.model_class.config_class()
        assert not model.is_fitted
        with pytest.raises(NotFittedError, match="not fitted"):
            model.score(np.array([0]))

    def test_config_dict_and_yaml_round_trip(self) -> None:
        """The config survives a plain-dict and a YAML round trip."""
        config = self.make_config()
        plain = to_dict(config)
        assert from_dict(type(config), plain) == config
        text = yaml.safe_dump(plain, sort_keys=False)
        assert from_dict(type(config), yaml.safe_load(text)) == config
        default = self.model_class.config_class()
        assert from_dict(type(default), yaml.safe_load(yaml.safe_dump(to_dict(default)))) == default

    def test_config_is_frozen(self) -> None:
        """Configs are frozen."""
        config = self.make_config()
        with pytest.raises(dataclasses.FrozenInstanceError):
            config.seed = 3  # type: ignore[misc]

    # ------------------------------------------------------------------ fitting and scoring
    def test_fit_is_fast(self, fitted: tuple[Recommender[Any], float]) -> None:
        """One fit of the tiny data stays under ``max_fit_seconds``."""
        model, seconds = fitted
        assert model.is_fitted
        assert seconds < self.max_fit_seconds

    def test_score_shape_and_finite(self, model: Recommender[Any], split: Split) -> None:
        """``score`` gives finite float32 ``(users, items)``."""
        users = np.arange(split.num_users)
        scores = model.score(users)
        assert isinstance(scores, torch.Tensor)
        assert tuple(scores.shape) == (split.num_users, split.num_items)
        assert scores.dtype == torch.float32
        assert torch.isfinite(scores).all()

    def test_score_history_shape(self, model: Recommender[Any], split: Split) -> None:
        """``score_history`` gives one finite row per history, an empty one included."""
        histories = [np.array([0, 1], dtype=np.int32), np.array([], dtype=np.int32)]
        scores = model.score_history(histories)
        assert tuple(scores.shape) == (2, split.num_items)
        assert torch.isfinite(scores).all()

    def test_score_history_empty_single_and_overlong(
        self, model: Recommender[Any], split: Split
    ) -> None:
        """Empty, one-item and 500-item histories score finite float32, alone and together."""
        num_items = split.num_items
        cases: dict[str, np.ndarray] = {
            "empty": np.array([], dtype=np.int32),
            "one item": np.array([num_items - 1], dtype=np.int32),
            # longer than any window or sequence limit, every item many times
            "500 items": np.arange(500, dtype=np.int64) % num_items,
        }
        for label, history in cases.items():
            scores = model.score_history([history])
            assert tuple(scores.shape) == (1, num_items), label
            assert scores.dtype == torch.float32, label
            assert torch.isfinite(scores).all(), label
        together = model.score_history(list(cases.values()))
        assert tuple(together.shape) == (len(cases), num_items)
        assert together.dtype == torch.float32
        assert torch.isfinite(together).all()

    def test_fold_in_matches_known_user(self, model: Recommender[Any], split: Split) -> None:
        """Folding a training history in scores like that user (models without user parameters)."""
        if not self.folds_in_exactly:
            pytest.skip("model has per-user parameters; fold-in is an approximation")
        users = np.arange(5)
        folded = model.score_history(split.train.sequences()[:5])
        torch.testing.assert_close(folded.cpu(), model.score(users).cpu())

    def test_recommend_excludes_seen_and_returns_k(
        self, model: Recommender[Any], split: Split
    ) -> None:
        """``recommend`` returns exactly ``k`` distinct unseen items, best first."""
        raw_users = split.train.user_vocab.raw(np.arange(6))
        recs = model.recommend(list(raw_users), k=5)
        assert recs.items.shape == (6, 5)
        seen = split.train.csr()
        for row, user in enumerate(range(6)):
            seen_items = set(seen[user].indices.tolist())
            assert not seen_items & set(recs.item_indices[row].tolist())
            assert len(set(recs.item_indices[row].tolist())) == 5
        assert np.all(np.diff(recs.scores, axis=1) <= 0)

    def test_unknown_user_raises(self, model: Recommender[Any]) -> None:
        """An unknown raw user id raises ``UnknownIdError`` naming it."""
        with pytest.raises(UnknownIdError, match="no-such-user"):
            model.recommend("no-such-user", k=3)

    def test_save_load_identical_scores(
        self, model: Recommender[Any], split: Split, tmp_path: Any
    ) -> None:
        """``save`` then ``load_model`` gives the same class, config and scores."""
        model.save(tmp_path / "model")
        loaded = load_model(tmp_path / "model")
        assert type(loaded) is type(model)
        assert loaded.config == model.config
        users = np.arange(split.num_users)
        assert torch.equal(loaded.score(users).cpu(), model.score(users).cpu())

    def test_same_seed_identical_scores(self, model: Recommender[Any], split: Split) -> None:
        """Two fits with the same seed give identical scores."""
        again = self.fit_model(split)
        users = np.arange(split.num_users)
        assert torch.equal(again.score(users).cpu(), model.score(users).cpu())

    def planted_threshold(self, split: Split) -> float:
        """Test NDCG@10 the model must reach: Pop's plus ``planted_margin``."""
        from ssl4rec.models.pop import Pop

        if self.planted_margin is None:
            pytest.skip("the model is the baseline of the planted-signal test")
        return _test_ndcg(Pop().fit(split.train), split) + self.planted_margin

    def test_planted_signal_beats_pop(self, model: Recommender[Any], split: Split) -> None:
        """The model finds the planted signal: test NDCG@10 at least Pop's plus the margin."""
        threshold = self.planted_threshold(split)
        ours = _test_ndcg(model, split)
        assert ours >= threshold, f"ndcg@10 {ours:.3f}; needs Pop + margin = {threshold:.3f}"

    def test_planted_threshold_is_not_met_by_chance(self, split: Split) -> None:
        """Random scores stay below that threshold, so passing it means something."""
        threshold = self.planted_threshold(split)
        chance = _test_ndcg(RandomScorer(split.train, seed=0), split)
        assert chance < threshold, (
            f"random scores reach ndcg@10 {chance:.3f} ≥ Pop + margin = {threshold:.3f}; "
            "raise planted_margin"
        )


def _test_ndcg(scorer: Scorer, split: Split) -> float:
    return float(evaluate(scorer, split, part="test", metrics=("ndcg@10",)).metrics["ndcg@10"])
