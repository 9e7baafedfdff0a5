"""Run one experiment end to end: load -> preprocess -> split -> (tune) -> fit -> evaluate.

The CLI (``ssl4rec train``), the quickstart and the benchmark suites all go through
``run_experiment``, so a YAML run and a Python run of the same config are one thing.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ssl4rec.data.interactions import Interactions
from ssl4rec.data.preprocess import preprocess
from ssl4rec.data.splits import Split, make_split
from ssl4rec.errors import ConfigError
from ssl4rec.runner.experiment import DataConfig, ExperimentConfig, SplitConfig

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "EncodedItemText",
    "RunResult",
    "build_model",
    "item_text_source",
    "load_data",
    "make_experiment_split",
    "run_experiment",
]

logger = logging.getLogger(__name__)


def load_data(config: DataConfig, *, home: str | Path | None = None) -> Interactions:
    """Load (and clean) the interactions a ``DataConfig`` names."""
    from ssl4rec.data import sources
    from ssl4rec.data.registry import load_dataset

    if config.path is not None:
        data = sources.load_path(
            config.path,
            format=config.format,
            columns=config.columns,
            separator=config.separator,
        )
    else:
        assert config.dataset is not None
        data = load_dataset(config.dataset, home=home)
    return preprocess(data, config.preprocess)


def make_experiment_split(data: Interactions, config: SplitConfig) -> Split:
    """The split a ``SplitConfig`` describes (with held-out cold items if asked)."""
    split = make_split(
        data,
        config.protocol,
        ratios=config.ratios,
        seed=config.seed,
        valid_start=config.valid_start,
        test_start=config.test_start,
    )
    if config.cold_item_fraction is not None:
        from ssl4rec.evaluation.cold_start import cold_start_split

        split = cold_start_split(
            data, fraction=config.cold_item_fraction, seed=config.cold_item_seed, base=split
        ).split
    return split


@dataclass(frozen=True)
class EncodedItemText:
    """Item text vectors from a sentence-transformers model, through the embedding cache.

    An ``ItemTextSource`` (``ssl4rec.models.nn.sequential``): a text model calls it
    with its training data in ``build``; the encoder loads only then.

    Attributes:
        encoder: Sentence-transformers model name or local path.
        template: Item-text template name or format string (``None``: the default).
        cache_dir: Embedding cache root (``None``: ``ssl4rec.text.default_cache_dir()``).
    """

    encoder: str
    template: str | None = None
    cache_dir: str | None = None

    def __call__(self, data: Interactions) -> np.ndarray:
        """Text vectors ``(data.num_items, t)`` of ``data``'s items, row i for item index i."""
        from ssl4rec.text.cache import item_embeddings
        from ssl4rec.text.sentence_transformers import SentenceTransformerEncoder

        encoder = SentenceTransformerEncoder(self.encoder)
        vectors = item_embeddings(data, encoder, template=self.template, cache_dir=self.cache_dir)
        logger.info("item text vectors ready: encoder=%s shape=%s", encoder.name, vectors.shape)
        return vectors


def item_text_source(model_config: Any) -> EncodedItemText | None:
    """The item text a model config asks for, from its ``text_*`` fields.

    Returns:
        ``None`` for models without text (no ``item_repr``, or ``item_repr="id"``
        with ID vectors that do not start from text).
    """
    if getattr(model_config, "item_repr", "id") == "id" and (
        getattr(model_config, "id_init", "random") != "text"
    ):
        return None
    return EncodedItemText(
        model_config.text_encoder,
        template=model_config.text_template,
        cache_dir=model_config.text_cache_dir,
    )


def build_model(
    config: ExperimentConfig, *, item_text: Any = None, social: Any = None, **changes: Any
) -> Any:
    """A new, unfitted model from the experiment's model section.

    Args:
        config: The experiment.
        item_text: Item text vectors ``(num_items, t)`` or an ``ItemTextSource`` for a
            text model (default: ``item_text_source(model config)``); models that
            read no item text ignore it.
        social: User-user edges ``(s, 2)`` (``data.social``), for graph models only.
        **changes: Model config fields to override.

    Raises:
        ConfigError: ``social`` edges for a model that does not read them.
    """
    from ssl4rec.models.registry import get_model_class

    model_cls = get_model_class(config.model_name)
    model_config = dataclasses.replace(config.model, **changes) if changes else config.model
    extra: dict[str, Any] = {}
    if social is not None:
        if not getattr(model_cls, "reads_social", False):
            raise ConfigError(
                f"data.social is set but model {config.model_name!r} does not read a social "
                f"graph; the graph models do: lightgcn, sgl, simgcl, xsimgcl"
            )
        extra["social"] = social
    source = item_text_source(model_config)
    if source is None:
        return model_cls(model_config, **extra)
    return model_cls(
        model_config, item_text=item_text if item_text is not None else source, **extra
    )


@dataclass
class RunResult:
    """What one experiment produced."""

    config: ExperimentConfig
    model: Any
    split: Split
    test: Any
    """``EvalResult`` on the test part."""
    valid: Any | None = None
    """``EvalResult`` on the validation part (after tuning/fitting)."""
    tuning: list[dict[str, Any]] = field(default_factory=list)
    fit_seconds: float = 0.0
    eval_seconds: float = 0.0
    run_dir: Path | None = None
    views: dict[str, Any] = field(default_factory=dict)
    """More test results by name: ``exclude_seen=true|false`` (both conventions) and
    ``cold`` / ``warm`` (cold-start protocol)."""
    nonmembers: Interactions | None = None
    """With a ``privacy`` section: the held-out users' training-part events (the
    membership audit's non-members; ``split`` no longer holds them)."""

    def metrics(self) -> dict[str, Any]:
        """Plain data for ``metrics.json``: the run's settings and its results."""
        return {
            "model": self.config.model_name,
            "dataset": self.config.data.dataset or self.config.data.path,
            "protocol": self.config.split.protocol,
            "eval_protocol": self.test.protocol,
            "exclude_seen": self.test.exclude_seen,
            "seed": getattr(self.config.model, "seed", None),
            "test": self.test.metrics,
            "valid": self.valid.metrics if self.valid is not None else None,
            "tuning": self.tuning,
            "fit_seconds": self.fit_seconds,
            "eval_seconds": self.eval_seconds,
            "train_summary": getattr(self.model, "train_summary", {}),
            "views": {name: view.metrics for name, view in self.views.items()},
            **({"privacy": self.privacy_metrics()} if self.config.privacy is not None else {}),
        }

    def privacy_metrics(self) -> dict[str, Any]:
        """What the run spent (``epsilon`` null: not private) and the held-out users."""
        cfg = self.config.privacy
        assert cfg is not None
        spent = getattr(self.model, "privacy", None) or {"epsilon": None, "unit": "user"}
        held = self.nonmembers.active_users if self.nonmembers is not None else ()
        return {**spent, "holdout_users": len(held), "holdout_seed": cfg.holdout_seed}


def run_experiment(
    config: ExperimentConfig,
    *,
    out_dir: str | Path | None = None,
    data: Interactions | None = None,
    split: Split | None = None,
    home: str | Path | None = None,
    item_text: Any = None,
) -> RunResult:
    """Run the experiment; with ``out_dir``, save config, model and metrics.json there.

    Args:
        config: The experiment.
        out_dir: Run folder (created); holds ``config.yaml``, ``model/`` and ``metrics.json``.
        data: Already loaded interactions (skips loading and cleaning).
        split: An already made split (skips splitting; wins over ``data``).
        home: Dataset cache folder (default ``$SSL4REC_HOME``).
        item_text: Item text vectors or an ``ItemTextSource`` for a text model
            (default: encoded as the model section's ``text_*`` fields say).
    """
    from ssl4rec.evaluation.evaluator import evaluate
    from ssl4rec.training.distributed import is_writer

    if split is None:
        if data is None:
            data = load_data(config.data, home=home)
        split = make_experiment_split(data, config.split)
    nonmembers = None
    if config.privacy is not None and config.privacy.holdout_users > 0:
        from ssl4rec.privacy.holdout import hold_out_users

        split, nonmembers = hold_out_users(
            split, config.privacy.holdout_users, config.privacy.holdout_seed
        )
        logger.info("privacy: %d users held out of training (audit non-members)",
                    len(nonmembers.active_users))
    logger.info("split ready: %s", split.summary())
    train_config = config.train
    run_dir = Path(out_dir) if out_dir is not None else None
    writer = is_writer()  # under torchrun every rank runs this; rank 0 writes the folder
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        if writer:
            config.to_yaml(run_dir / "config.yaml")
        if train_config.run_dir is None:
            train_config = dataclasses.replace(train_config, run_dir=str(run_dir / "train"))

    social = None
    if config.data.social is not None:
        from ssl4rec.data.sources.social import load_social_edges

        social = load_social_edges(config.data.social, split.train.user_vocab)
    tuning: list[dict[str, Any]] = []
    best_changes: dict[str, Any] = {}
    if config.tune:
        best_changes, tuning = _grid_search(config, split, train_config, item_text, social)
    model = build_model(config, item_text=item_text, social=social, **best_changes)
    start = time.perf_counter()
    model.fit(split.train, valid=split.valid, train_config=train_config, privacy=config.privacy)
    fit_seconds = time.perf_counter() - start
    metric_names = config.eval.metrics
    kwargs: dict[str, Any] = {"metrics": metric_names, "exclude_seen": config.eval.exclude_seen}
    kwargs["batch_size"] = config.eval.batch_size
    if config.eval.sampled_negatives:
        kwargs["sampled_negatives"] = config.eval.sampled_negatives
        kwargs["seed"] = config.eval.seed
    valid_result = evaluate(model, split, part="valid", **kwargs) if len(split.valid) else None
    start = time.perf_counter()
    test_result = evaluate(model, split, part="test", **kwargs)
    eval_seconds = time.perf_counter() - start
    views: dict[str, Any] = {}
    if config.eval.both_conventions:
        flag = config.eval.exclude_seen
        views[f"exclude_seen={str(flag).lower()}"] = test_result
        other = {**kwargs, "exclude_seen": not flag}
        views[f"exclude_seen={str(not flag).lower()}"] = evaluate(model, split, part="test", **other)
    if split.cold_items is not None:
        from ssl4rec.evaluation.cold_start import evaluate_cold_start, of_split

        cold = evaluate_cold_start(
            model,
            of_split(split, seed=config.split.cold_item_seed),
            metrics=metric_names,
            exclude_seen=config.eval.exclude_seen,
            batch_size=config.eval.batch_size,
        )
        views.update(cold)
    result = RunResult(
        config=config,
        model=model,
        split=split,
        test=test_result,
        valid=valid_result,
        tuning=tuning,
        fit_seconds=fit_seconds,
        eval_seconds=eval_seconds,
        run_dir=run_dir,
        views=views,
        nonmembers=nonmembers,
    )
    if run_dir is not None and writer:
        model.save(run_dir / "model")
        _write_json(run_dir / "metrics.json", result.metrics())
    return result


def _grid_search(
    config: ExperimentConfig,
    split: Split,
    train_config: Any,
    item_text: Any = None,
    social: Any = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The grid point or Optuna trial with the best validation score (never reads test)."""
    from ssl4rec.runner.tuning import OptunaSearch, grid_search, optuna_search

    def factory(params: dict[str, Any]) -> Any:
        try:
            return build_model(config, item_text=item_text, social=social, **params)
        except ConfigError as err:
            raise ConfigError(f"tune: {params} is not a valid model config: {err}") from None

    # trials write no checkpoints; only the final fit uses the run folder
    trial_config = dataclasses.replace(train_config, run_dir=None)
    search = config.search()
    run_search = optuna_search if isinstance(search, OptunaSearch) else grid_search
    return run_search(
        factory,
        search,
        split,
        metric=train_config.monitor,
        exclude_seen=config.eval.exclude_seen,
        fit_kwargs={"train_config": trial_config},
    )


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_default), encoding="utf-8")
    os.replace(tmp, path)


def _default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return str(value)
