"""The recommender interface every model implements (small on purpose).

A model is built from a frozen config, fitted on ``Interactions``, and then scores
users (by index, from the history seen in training) or arbitrary histories (fold-in
for new users and anonymous sessions). ``recommend``, ``save`` and ``load`` are
provided here once, for every model.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar

import numpy as np
import polars as pl
import scipy.sparse as sp
import torch

from ssl4rec.config.base import Checks, from_dict, to_dict
from ssl4rec.config.yaml_io import dump_yaml, load_yaml
from ssl4rec.data.interactions import IdVocab, Interactions
from ssl4rec.errors import ConfigError, DataError, NotFittedError
from ssl4rec.evaluation.ranking import mask_rows, top_k
from ssl4rec.training.trainable import EpochCallback
from ssl4rec.training.trainer import TrainConfig, Trainer

__all__ = [
    "GradientConfig",
    "History",
    "ModelConfig",
    "Recommendations",
    "Recommender",
    "load_model",
]

logger = logging.getLogger(__name__)

C = TypeVar("C", bound="ModelConfig")


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Base of every model config: frozen, keyword-only, validated on creation."""

    seed: int = 0
    """Seed for parameter initialisation and sampling."""

    def __post_init__(self) -> None:
        checks = Checks(type(self).__name__)
        self.validate(checks)
        checks.raise_if_any()

    def validate(self, checks: Checks) -> None:
        """Add problems to ``checks``; subclasses extend (call ``super().validate``)."""
        checks.non_negative("seed", self.seed)


@dataclass(frozen=True, kw_only=True)
class GradientConfig(ModelConfig):
    """Base of the configs of models trained by gradient steps (Adam).

    A model redeclares a field only where its default (or what one example of a
    batch is) differs.
    """

    epochs: int = 200
    """Epoch limit (early stopping on validation usually ends sooner); > 0."""
    batch_size: int = 256
    """Training examples per step (users, pairs or sequence windows, per model); > 0."""
    learning_rate: float = 1e-3
    """Adam step size; > 0."""
    weight_decay: float = 0.0
    """Adam L2 penalty; ≥ 0."""

    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.positive("epochs", self.epochs)
        checks.positive("batch_size", self.batch_size)
        checks.positive("learning_rate", self.learning_rate)
        checks.non_negative("weight_decay", self.weight_decay)


@dataclass(frozen=True)
class History:
    """Per-user item histories in time order, stored CSR-style.

    ``items[indptr[u]:indptr[u+1]]`` are user u's items, oldest first.
    """

    indptr: np.ndarray
    items: np.ndarray
    num_items: int

    @classmethod
    def from_interactions(cls, data: Interactions) -> History:
        items = data.items[data.time_order].astype(np.int32)
        return cls(indptr=data.user_offsets.astype(np.int64), items=items, num_items=data.num_items)

    @property
    def num_users(self) -> int:
        return len(self.indptr) - 1

    def sequence(self, user: int) -> np.ndarray:
        return self.items[self.indptr[user] : self.indptr[user + 1]]

    def sequences(self, users: Iterable[int]) -> list[np.ndarray]:
        return [self.sequence(int(u)) for u in users]

    def csr(self, users: np.ndarray | None = None) -> sp.csr_matrix:
        """Binary user × item matrix (all users, or the rows of ``users``)."""
        mat = self._full_csr()
        return mat if users is None else mat[np.asarray(users)]

    def _full_csr(self) -> sp.csr_matrix:
        cached = self.__dict__.get("_csr")
        if cached is None:
            mat = sp.csr_matrix(
                (np.ones(len(self.items), dtype=np.float32), self.items, self.indptr),
                shape=(self.num_users, self.num_items),
            )
            mat.sum_duplicates()
            mat.data[:] = 1.0
            object.__setattr__(self, "_csr", mat)  # frozen dataclass: cache by hand
            cached = mat
        return cached


def histories_to_csr(histories: Sequence[Sequence[int]], num_items: int) -> sp.csr_matrix:
    """Binary matrix (len(histories), num_items) from item index lists."""
    indptr = np.zeros(len(histories) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(h) for h in histories])
    cols = (
        np.concatenate([np.asarray(h, dtype=np.int32) for h in histories])
        if len(histories)
        else np.zeros(0, dtype=np.int32)
    )
    mat = sp.csr_matrix(
        (np.ones(len(cols), dtype=np.float32), cols, indptr), shape=(len(histories), num_items)
    )
    mat.sum_duplicates()
    mat.data[:] = 1.0
    return mat


@dataclass(frozen=True)
class Recommendations:
    """Top-k result for several users: raw ids and scores, best first.

    Attributes:
        users: raw user ids, shape ``(n,)``.
        items: raw item ids, shape ``(n, k)``.
        scores: float32 scores, shape ``(n, k)``.
        item_indices: item indices, shape ``(n, k)``.
    """

    users: np.ndarray
    items: np.ndarray
    scores: np.ndarray
    item_indices: np.ndarray

    def to_frame(self) -> pl.DataFrame:
        n, k = self.items.shape
        return pl.DataFrame(
            {
                "user": np.repeat(self.users.astype(str), k),
                "rank": np.tile(np.arange(1, k + 1), n),
                "item": self.items.reshape(-1).astype(str),
                "score": self.scores.reshape(-1),
            }
        )


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
        """Phases to run in epoch ``epoch`` (0-based), in order; each is one pass over
        ``batches``. Empty (the default) means every optimizer once, in dict order.

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
            raise ConfigError(
                f"{type(self).__name__} is not trained by gradient steps: "
                f"{type(self.config).__name__} is not a GradientConfig"
            )
        return self.config

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
    ) -> Self:
        """Fit on ``train``; every model has this signature.

        Args:
            train: the training events.
            valid: validation events; the trainer early-stops on them. Closed-form
                models do not read them.
            train_config: settings of the training loop; closed-form models, which
                have no loop, do not read them.
            callbacks: called after every training epoch (trained models only).

        Returns:
            The fitted model.
        """
        start = time.perf_counter()
        self._remember(train)
        if self.closed_form:
            self.solve(train)
        else:
            self.build(train)
            trainer = Trainer(train_config or TrainConfig(), callbacks=callbacks)
            self.train_summary = trainer.fit(self, train, valid=valid)
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
        return self.history is not None

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() or load() first")

    @property
    def num_items(self) -> int:
        self._check_fitted()
        assert self.item_vocab is not None
        return len(self.item_vocab)

    @property
    def num_users(self) -> int:
        self._check_fitted()
        assert self.user_vocab is not None
        return len(self.user_vocab)

    # ------------------------------------------------------------------ recommending
    def recommend(
        self,
        users: Iterable[object] | object,
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
        raw = [users] if isinstance(users, (str, int, np.integer)) else list(users)  # type: ignore[arg-type]
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
        existing saved model is replaced only by a complete one.
        """
        from safetensors.torch import save_file

        self._check_fitted()
        assert self.history is not None and self.user_vocab and self.item_vocab
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=directory.parent))
        try:
            dump_yaml({"name": self.name, **to_dict(self.config)}, tmp / "config.yaml")
            tensors: dict[str, torch.Tensor] = {}
            for mod_name, module in self.modules().items():
                for key, value in module.state_dict().items():
                    tensors[f"{mod_name}.{key}"] = value.detach().cpu().contiguous()
            for key, value in self.extra_state().items():
                tensors[f"extra.{key}"] = value.detach().cpu().contiguous()
            save_file(tensors, str(tmp / "weights.safetensors"))
            save_file(
                {
                    "indptr": torch.from_numpy(self.history.indptr.astype(np.int64)),
                    "items": torch.from_numpy(self.history.items.astype(np.int32)),
                },
                str(tmp / "history.safetensors"),
            )
            vocab = {"users": self.user_vocab.to_list(), "items": self.item_vocab.to_list()}
            (tmp / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
            if self.item_table is not None:
                self.item_table.write_parquet(tmp / "items.parquet")
            from ssl4rec import __version__

            meta = {
                "ssl4rec_version": __version__,
                "model": self.name,
                "num_users": self.num_users,
                "num_items": self.num_items,
                "fit_seconds": self.fit_seconds,
                "train_summary": _jsonable(self.train_summary),
            }
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
            if directory.exists():
                # keep files that are not ours (metrics.json, logs) from a run folder
                for f in tmp.iterdir():
                    os.replace(f, directory / f.name)
                tmp.rmdir()
            else:
                os.replace(tmp, directory)
        finally:
            if tmp.exists():
                for f in tmp.iterdir():
                    f.unlink()
                tmp.rmdir()
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Recommender[Any]:
        """Load a model saved by ``save`` (any model class; see ``load_model``)."""
        return load_model(directory)

    def _restore(self, directory: Path) -> None:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        vocab = _read_json(directory / "vocab.json")
        try:
            hist = load_file(str(directory / "history.safetensors"))
            weights = load_file(str(directory / "weights.safetensors"))
        except (SafetensorError, OSError) as err:
            raise DataError(f"{directory}: cannot read saved tensors: {err}") from None
        items_path = directory / "items.parquet"
        item_table = pl.read_parquet(items_path) if items_path.is_file() else None
        user_vocab = IdVocab(vocab["users"], name="user")
        item_vocab = IdVocab(vocab["items"], name="item")
        empty = np.zeros(0, dtype=np.int32)
        skeleton = Interactions(
            users=empty,
            items=empty,
            weights=np.zeros(0, dtype=np.float32),
            timestamps=np.zeros(0, dtype=np.int64),
            user_vocab=user_vocab,
            item_vocab=item_vocab,
            item_table=item_table,
        )
        self.user_vocab, self.item_vocab, self.item_table = user_vocab, item_vocab, item_table
        self.history = History(
            indptr=hist["indptr"].numpy().astype(np.int64),
            items=hist["items"].numpy().astype(np.int32),
            num_items=len(item_vocab),
        )
        self.build(skeleton)
        for mod_name, module in self.modules().items():
            prefix = f"{mod_name}."
            state = {k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}
            try:
                module.load_state_dict(state)
            except RuntimeError as err:
                raise DataError(
                    f"{directory / 'weights.safetensors'}: weights do not match the model: {err}"
                ) from None
            module.eval()
        extra = {k[len("extra.") :]: v for k, v in weights.items() if k.startswith("extra.")}
        self.load_extra_state(extra)
        meta = _read_json(directory / "meta.json")
        self.fit_seconds = meta.get("fit_seconds")
        self.train_summary = meta.get("train_summary") or {}


def _check_k(k: object) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"recommend(): k must be ≥ 1; got {k!r}")


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DataError(f"{path}: not found; not a saved ssl4rec model folder")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno}: invalid JSON: {err.msg}") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object")
    return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


def load_model(directory: str | Path) -> Recommender[Any]:
    """Load any saved model; the class comes from ``config.yaml``'s ``name``.

    Raises:
        DataError: a missing or corrupt file, named.
        ConfigError: an unknown model name or invalid config.
    """
    from ssl4rec.models.registry import get_model_class  # the registry imports the models

    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: model folder not found")
    cfg_path = directory / "config.yaml"
    raw = load_yaml(cfg_path)
    name = raw.pop("name", None)
    if not isinstance(name, str):
        raise ConfigError(f"{cfg_path}: missing 'name' of the model")
    model_cls = get_model_class(name)
    config = from_dict(model_cls.config_class, raw)
    model = model_cls(config)
    model._restore(directory)
    return model
