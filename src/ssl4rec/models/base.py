"""The recommender interface every model implements (small on purpose).

A model is built from a frozen config, fitted on ``Interactions``, and then scores
users (by index, from the history seen in training) or arbitrary histories (fold-in
for new users and anonymous sessions). ``recommend``, ``save`` and ``load`` are
provided here once, for every model.

Nearby: ``config`` (the config bases ``ModelConfig`` and ``GradientConfig``, kept
apart so that configs load without torch), ``history`` (the per-user histories a
model scores from), ``recommendations`` (what ``recommend`` returns) and
``persistence`` (the saved folder format behind ``save`` and ``load``). Their
public names are re-exported here.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar

import numpy as np
import polars as pl
import scipy.sparse as sp
import torch
from typing_extensions import TypeIs

from ssl4rec.data.interactions import IdVocab, Interactions
from ssl4rec.errors import ConfigError, DataError, NotFittedError
from ssl4rec.evaluation.ranking import mask_rows, top_k
from ssl4rec.models.config import GradientConfig, ModelConfig
from ssl4rec.models.history import History, histories_to_csr
from ssl4rec.models.persistence import load_model, restore_model, save_model
from ssl4rec.models.recommendations import Recommendations
from ssl4rec.privacy.config import PrivacyConfig
from ssl4rec.training.trainable import EpochCallback
from ssl4rec.training.trainer import TrainConfig, Trainer

__all__ = [
    "GradientConfig",
    "History",
    "ModelConfig",
    "Recommendations",
    "Recommender",
    "histories_to_csr",
    "load_model",
]

logger = logging.getLogger(__name__)

C = TypeVar("C", bound="ModelConfig")


class Recommender(ABC, Generic[C]):
    """Base class of every recommender.

    Subclasses set ``name`` and ``config_class`` and implement ``score_history``
    and either ``build`` + ``training_step`` (trained by the generic trainer) or
    ``solve`` with ``closed_form = True`` (EASE, ItemKNN, Pop). ``fit``, ``score``, ``recommend``, ``save`` and ``load`` come from here.
    """

    name: ClassVar[str] = "recommender"
    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    is_sequential: ClassVar[bool] = False
    """Sequential models score an ordered history; others an item set."""
    closed_form: ClassVar[bool] = False
    """Fitted by ``solve`` in one pass (EASE, ItemKNN, Pop) instead of the trainer."""
    backend: ClassVar[str] = "torch"
    """What runs the scoring path: ``"torch"``, or ``"onnx"`` for a model served
    through ONNX Runtime (``ssl4rec.compress``), whose exported graph has a fixed
    catalog and fixed weights."""
    explanation_method: ClassVar[str | None] = None
    """The explanation method measured most faithful for this family (its name in
    ``ssl4rec.explain``; docs/explanations.md), made the default when it supports the
    model; ``None`` keeps the registry's order of preference."""
    dp_refusal: ClassVar[str | None] = None
    """Why the model cannot be trained with DP-SGD (one line), if it cannot."""

    def __init__(self, config: C | None = None, **kwargs: Any) -> None:
        if config is not None and kwargs:
            raise TypeError(f"{type(self).__name__}: pass either a config or keyword arguments")
        if config is None:
            config = self.config_class(**kwargs)  # type: ignore[assignment]
        if not isinstance(config, self.config_class):
            raise ConfigError(
                f"{type(self).__name__} needs a {self.config_class.__name__}; "
                f"got {type(config).__name__}"
            )
        self.config: C = config  # type: ignore[assignment]
        self.history: History | None = None
        self.user_vocab: IdVocab | None = None
        self.item_vocab: IdVocab | None = None
        self.item_table: pl.DataFrame | None = None
        self.fit_seconds: float | None = None
        self.train_summary: dict[str, Any] = {}
        self.privacy: dict[str, Any] | None = None
        """What a private fit spent (ε, δ, noise, unit...); ``None`` for a non-private model.
        A private model is saved without its training histories."""

    # ------------------------------------------------------------------ hooks
    def build(self, data: Interactions) -> None:  # noqa: B027 - optional hook
        """Create modules and buffers from vocabulary sizes (override in models)."""

    def solve(self, train: Interactions) -> None:
        """Compute the weights of a closed-form model from ``train`` (set ``closed_form``)."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form solve")

    def training_step(self, batch: Any, phase: str | None = None) -> dict[str, torch.Tensor]:
        """Named loss terms for one batch, the total under ``"loss"``."""
        raise NotImplementedError(f"{type(self).__name__} has no training_step")

    @abstractmethod
    def score_history(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        """Scores for every item given item-index histories (oldest first).

        Args:
            histories: one int array per row; may be empty.

        Returns:
            float32 tensor of shape ``(len(histories), num_items)``.
        """

    def score(self, users: np.ndarray) -> torch.Tensor:
        """Scores for every item for users (indices) from their training history.

        Returns:
            float32 tensor of shape ``(len(users), num_items)``.
        """
        self._check_fitted()
        assert self.history is not None
        return self.score_history(self.history.sequences(np.asarray(users)))

    def modules(self) -> dict[str, torch.nn.Module]:
        """Trainable modules by name (saved in the weights file); none by default."""
        return {}

    def extra_state(self) -> dict[str, torch.Tensor]:
        """Non-module tensors to save (closed-form weights, statistics)."""
        return {}

    def load_extra_state(self, state: Mapping[str, torch.Tensor]) -> None:  # noqa: B027
        """Restore what ``extra_state`` returned."""

    # ------------------------------------------------------------------ trainer hooks
    # Used by ssl4rec.training.Trainer; closed-form models that override ``fit`` never
    # see them. Defaults suit a single-optimizer model trained on user batches.
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """One optimizer per phase name.

        The default is one Adam over every parameter of ``modules()`` under the name
        ``"model"``, with the config's ``learning_rate`` and ``weight_decay``. GANs return ``{"generator": ..., "discriminator":
        ...}``; the trainer then calls ``training_step(batch, phase)`` with that name
        and steps only that optimizer.
        """
        cfg = self.gradient_config
        params = [p for m in self.modules().values() for p in m.parameters() if p.requires_grad]
        return {
            "model": torch.optim.Adam(
                params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay
            )
        }

    def training_phases(self, epoch: int) -> Sequence[str]:
        """Phases to run in epoch ``epoch`` (0-based), in order.

        Each phase is one pass over ``batches``. Empty (the default) means every
        optimizer once, in dict order.

        RecVAE returns ``["encoder"] * 3 + ["decoder"]``; CFGAN its D and G steps.
        """
        return ()

    def batches(self, train: Interactions, generator: torch.Generator) -> Iterable[Any]:
        """One epoch of batches for ``training_step``.

        The default yields int64 tensors of user indices (users with at least one
        event), shuffled with ``generator`` (the only source of batch-order
        randomness, so resumed runs replay it), ``batch_size`` from the config. Tensors in a batch (also inside tuples and dicts) are moved
        to the training device by the trainer.
        """
        batch_size = self.gradient_config.batch_size
        users = torch.from_numpy(train.active_users.astype(np.int64))
        order = users[torch.randperm(len(users), generator=generator)]
        yield from order.split(batch_size)

    @property
    def gradient_config(self) -> GradientConfig:
        """The config as a ``GradientConfig`` (models trained by the trainer have one).

        Raises:
            ConfigError: a closed-form model's config reached a training hook.
        """
        if not isinstance(self.config, GradientConfig):
            raise self._no_gradient_config()
        return self.config

    def _no_gradient_config(self) -> ConfigError:
        return ConfigError(
            f"{type(self).__name__} is not trained by gradient steps: "
            f"{type(self.config).__name__} is not a GradientConfig"
        )

    def on_epoch_start(self, epoch: int) -> None:  # noqa: B027 - optional hook
        """Called before each epoch (0-based; also after a resume), e.g. for annealing."""

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        train: Interactions,
        *,
        valid: Interactions | None = None,
        train_config: TrainConfig | None = None,
        callbacks: Sequence[EpochCallback] = (),
        privacy: PrivacyConfig | None = None,
    ) -> Self:
        """Fit on ``train``; every model has this signature.

        Args:
            train: the training events.
            valid: validation events; the trainer early-stops on them. Closed-form
                models do not read them.
            train_config: settings of the training loop; closed-form models, which
                have no loop, do not read them.
            callbacks: called after every training epoch (trained models only).
            privacy: with ``target_epsilon`` set, fit with user-level differential
                privacy (DP-SGD, or the model's own mechanism such as DP-Pop's noisy
                counts); models that cannot are refused (``ssl4rec.privacy``).

        Returns:
            The fitted model.

        Raises:
            ConfigError: a private fit of a model that cannot be trained privately.
        """
        start = time.perf_counter()
        private = privacy is not None and privacy.private
        if private:
            from ssl4rec.privacy.dpsgd import refusal

            reason = None if hasattr(self, "solve_private") else refusal(self)
            if reason is not None:
                raise ConfigError(f"privacy: cannot train privately: {reason}")
        self._remember(train)
        if private and hasattr(self, "solve_private"):
            self.privacy = self.solve_private(train, privacy)
        elif self.closed_form:
            self.solve(train)
        else:
            if not _has_gradient_config(self):
                raise self._no_gradient_config()
            self.build(train)
            hook = None
            if private:
                from ssl4rec.privacy.dpsgd import DPSGD

                assert privacy is not None
                cfg = self.gradient_config
                hook = DPSGD(privacy, epochs=cfg.epochs, batch_size=cfg.batch_size, seed=cfg.seed)
            trainer = Trainer(train_config or TrainConfig(), callbacks=callbacks, step_hook=hook)
            self.train_summary = trainer.fit(self, train, valid=valid)
            self.privacy = self.train_summary.get("privacy")
        self.fit_seconds = time.perf_counter() - start
        return self

    def _remember(self, train: Interactions) -> None:
        """Keep vocabularies, item table and training histories (for scoring)."""
        if len(train) == 0:
            raise DataError(f"{type(self).__name__}.fit: the training data has no events")
        self.history = History.from_interactions(train)
        self.user_vocab = train.user_vocab
        self.item_vocab = train.item_vocab
        self.item_table = train.item_table

    @contextmanager
    def using_history(self, data: Interactions) -> Iterator[None]:
        """Within the block, ``score(users)`` reads users' histories from ``data``.

        No retraining: the model scores from the longer history it is given. The
        evaluator uses this to score a sequential model's test events from train +
        valid histories (the event before a leave-one-out test event is in valid).
        """
        self._check_fitted()
        old = self.history
        self.history = History.from_interactions(data)
        try:
            yield
        finally:
            self.history = old

    @property
    def is_fitted(self) -> bool:
        """Whether the model holds fitted (or loaded) state."""
        return self.history is not None

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() or load() first")

    @property
    def num_items(self) -> int:
        """Catalog size: the width of every score row."""
        self._check_fitted()
        assert self.item_vocab is not None
        return len(self.item_vocab)

    @property
    def num_users(self) -> int:
        """Users known from the training data."""
        self._check_fitted()
        assert self.user_vocab is not None
        return len(self.user_vocab)

    # ------------------------------------------------------------------ recommending
    def recommend(
        self,
        users: str | int | np.integer[Any] | Iterable[object],
        k: int = 10,
        *,
        exclude_seen: bool = True,
    ) -> Recommendations:
        """Top-``k`` items for raw user ids (a single id or several).

        Raises:
            UnknownIdError: a user id not seen in training.
            ConfigError: ``k`` below 1.
        """
        self._check_fitted()
        assert self.user_vocab is not None and self.item_vocab is not None
        _check_k(k)
        raw: list[object] = [users] if isinstance(users, (str, int, np.integer)) else list(users)
        idx = self.user_vocab.indices(raw)
        with torch.no_grad():
            scores = self.score(idx).float().cpu()
        assert self.history is not None
        seen = self.history.csr(idx) if exclude_seen else None
        return self._top(scores, seen, k, [str(u) for u in raw])

    def _top(
        self, scores: torch.Tensor, seen: sp.csr_matrix | None, k: int, labels: list[str]
    ) -> Recommendations:
        """Top-``k`` of ``scores`` ``(n, num_items)`` with ``seen`` masked, as raw ids."""
        assert self.item_vocab is not None
        if seen is not None:
            mask_rows(scores, seen)
        values, items = top_k(scores, k)
        item_idx = items.numpy()
        return Recommendations(
            users=np.asarray(labels, dtype=object),
            items=self.item_vocab.raw(item_idx.reshape(-1)).reshape(item_idx.shape),
            scores=values.numpy().astype(np.float32),
            item_indices=item_idx,
        )

    def recommend_history(
        self, history: Sequence[object], k: int = 10, *, exclude_seen: bool = True
    ) -> Recommendations:
        """Top-``k`` for an anonymous session given raw item ids (oldest first)."""
        self._check_fitted()
        assert self.item_vocab is not None
        _check_k(k)
        seq = self.item_vocab.indices(history)
        with torch.no_grad():
            scores = self.score_history([seq]).float().cpu()
        seen = histories_to_csr([seq], self.num_items) if exclude_seen else None
        return self._top(scores, seen, k, ["<session>"])

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write config.yaml, weights.safetensors, history.safetensors, vocab.json, meta.json.

        Files are written to a temporary folder first and moved into place, so an
        existing saved model is replaced only by a complete one (see
        ``ssl4rec.models.persistence``).
        """
        self._check_fitted()
        return save_model(self, directory)

    @classmethod
    def load(cls, directory: str | Path) -> Recommender[Any]:
        """Load a model saved by ``save`` (any model class; see ``load_model``)."""
        return load_model(directory)

    def _restore(self, directory: Path) -> None:
        """Fill this freshly constructed model from a saved folder (``load_model`` calls it).

        Models with state outside their modules' weights extend it and call
        ``super()._restore(directory)``.
        """
        restore_model(self, directory)


def _check_k(k: object) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"recommend(): k must be ≥ 1; got {k!r}")


def _has_gradient_config(model: Recommender[Any]) -> TypeIs[Recommender[GradientConfig]]:
    """Whether ``model`` is trained by gradient steps (the generic trainer fits it)."""
    return isinstance(model.config, GradientConfig)
