"""Hyperparameter search on the validation part only: a grid, or Optuna's TPE.

``tune`` in an experiment is either a grid, ``{l2_reg: [100, 250, 500]}`` (every
combination is fitted), or an Optuna study (Akiba et al., KDD 2019)::

    tune:
      search: optuna
      trials: 30          # at most this many trials
      budget_s: 1800      # and no new trial after this many seconds (optional)
      seed: 0             # TPE's seed
      params:
        learning_rate: {low: 1.0e-4, high: 1.0e-2, log: true}   # float range
        num_layers: {low: 1, high: 4}                          # int range (both ints)
        dropout: [0.1, 0.2, 0.3]                                # choices

Optuna's TPE sampler proposes each trial from the earlier ones; its median pruner stops
a trial whose validation score after an epoch is below the median of earlier trials
at the same epoch (after ``startup_trials`` finished trials and ``warmup_epochs``
epochs). Closed-form models have no epochs and are never pruned. The test part is
never read.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ssl4rec.data.splits import Split
from ssl4rec.errors import ConfigError
from ssl4rec.evaluation.evaluator import evaluate
from ssl4rec.evaluation.metrics import parse_metric
from ssl4rec.models.base import Recommender
from ssl4rec.runner.search import OptunaSearch, parse_tune

__all__ = ["OptunaSearch", "grid_search", "optuna_search", "parse_tune"]

logger = logging.getLogger(__name__)


def grid_search(
    model_factory: Callable[[dict[str, Any]], Recommender[Any]],
    grid: Mapping[str, Sequence[Any]],
    split: Split,
    *,
    metric: str = "ndcg@10",
    exclude_seen: bool = True,
    fit_kwargs: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Fit one model per grid point on ``split.train``; score each on ``split.valid``.

    The test part is never read. Ties keep the first grid point (in the order of
    ``itertools.product`` over the grid's keys).

    Args:
        model_factory: builds an unfitted model from one parameter dict.
        grid: parameter name -> candidate values.
        split: the split; only ``train`` and ``valid`` are used.
        metric: selection metric (validation), e.g. ``"ndcg@10"``.
        exclude_seen: mask training items when evaluating on valid.
        fit_kwargs: extra keyword arguments for ``fit`` (e.g. ``train_config``);
            ``valid=split.valid`` is always passed, for early stopping.

    Returns:
        ``(best_params, table)``; ``table`` has one dict per trial with the
        parameters, the metric value and ``seconds``.

    Raises:
        ConfigError: an empty grid or candidate list, or an unknown metric.
    """
    parsed = parse_metric(metric)
    key = str(parsed)
    if not grid:
        raise ConfigError("grid_search(): grid must name at least one parameter; got {}")
    names = list(grid)
    for name in names:
        values = grid[name]
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ConfigError(
                f"grid_search(): grid[{name!r}] must be a non-empty list of values; got {values!r}"
            )
    higher = parsed.info.higher_is_better
    points = list(itertools.product(*(grid[n] for n in names)))
    table: list[dict[str, Any]] = []
    best: tuple[float, dict[str, Any]] | None = None
    for trial, combo in enumerate(points, start=1):
        params = dict(zip(names, combo, strict=True))
        start = time.perf_counter()
        model = model_factory(dict(params))
        model.fit(split.train, valid=split.valid, **dict(fit_kwargs or {}))
        result = evaluate(model, split, part="valid", metrics=[parsed], exclude_seen=exclude_seen)
        value = result.metrics[key]
        seconds = time.perf_counter() - start
        table.append({**params, key: value, "seconds": seconds})
        shown = " ".join(f"{n}={v}" for n, v in params.items())
        logger.info(
            "trial done: trial=%d/%d %s %s=%.4f seconds=%.2f",
            trial,
            len(points),
            shown,
            key,
            value,
            seconds,
        )
        score = value if higher else -value
        if not math.isnan(score) and (best is None or score > best[0]):
            best = (score, params)
    if best is None:
        raise ConfigError(f"grid_search(): every trial gave NaN for {key}")
    logger.info("grid search done: best=%s %s", best[1], key)
    return dict(best[1]), table


def optuna_search(
    model_factory: Callable[[dict[str, Any]], Recommender[Any]],
    search: OptunaSearch,
    split: Split,
    *,
    metric: str = "ndcg@10",
    exclude_seen: bool = True,
    fit_kwargs: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Optuna study over ``search.params``: fit on ``split.train``, score on ``split.valid``.

    The trainer's per-epoch validation score (its ``monitor``, which should be
    ``metric``) feeds the median pruner.

    Returns:
        ``(best_params, table)``: one row per trial with its parameters, the metric
        (``None`` for a pruned trial), ``state`` (complete or pruned), ``epochs``
        and ``seconds``.

    Raises:
        ConfigError: optuna is not installed, or no trial finished.
    """
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            "tune.search: optuna needs the optuna package: pip install 'ssl4rec[tune]'"
        ) from None
    parsed = parse_metric(metric)
    key = str(parsed)
    higher = parsed.info.higher_is_better
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize" if higher else "minimize",
        sampler=optuna.samplers.TPESampler(seed=search.seed),
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=search.startup_trials, n_warmup_steps=search.warmup_epochs
        ),
    )
    table: list[dict[str, Any]] = []

    def objective(trial: Any) -> float:
        params = {name: _suggest(trial, name, spec) for name, spec in search.params.items()}
        start = time.perf_counter()
        model = model_factory(dict(params))
        reporter = _Reporter(trial, key, optuna.TrialPruned)
        row: dict[str, Any] = {"trial": trial.number + 1, **params}
        pruned = False
        try:
            model.fit(
                split.train, valid=split.valid, callbacks=[reporter], **dict(fit_kwargs or {})
            )
        except optuna.TrialPruned:
            pruned = True
        value = None
        if not pruned:
            result = evaluate(model, split, part="valid", metrics=[parsed], exclude_seen=exclude_seen)
            value = float(result.metrics[key])
        row.update({key: value, "state": "pruned" if pruned else "complete"})
        row.update({"epochs": reporter.epochs, "seconds": time.perf_counter() - start})
        table.append(row)
        _log_trial(row, search.trials, key)
        if value is None:
            raise optuna.TrialPruned(f"pruned at epoch {reporter.epochs}")
        return value

    study.optimize(objective, n_trials=search.trials, timeout=search.budget_s)
    done = [r for r in table if r["state"] == "complete" and not math.isnan(r[key])]
    if not done:
        raise ConfigError(f"tune: no optuna trial finished with a {key} value")
    best = (max if higher else min)(done, key=lambda r: r[key])
    chosen = {name: best[name] for name in search.params}
    logger.info("optuna search done: trials=%d best=%s %s=%.4f", len(table), chosen, key, best[key])
    return chosen, table


def _suggest(trial: Any, name: str, spec: Any) -> Any:
    if isinstance(spec, list):
        return trial.suggest_categorical(name, spec)
    low, high, log, step = spec["low"], spec["high"], bool(spec.get("log", False)), spec.get("step")
    if isinstance(low, int) and isinstance(high, int) and (step is None or isinstance(step, int)):
        return trial.suggest_int(name, low, high, log=log, step=step or 1)
    return trial.suggest_float(name, float(low), float(high), log=log, step=step)


class _Reporter:
    """Epoch callback: reports the validation score to the trial, stops it when pruned."""

    def __init__(self, trial: Any, key: str, pruned: type[Exception]) -> None:
        self.trial, self.key, self.pruned = trial, key, pruned
        self.epochs = 0

    def on_epoch_end(self, model: Any, record: Mapping[str, Any]) -> None:
        self.epochs = int(record["epoch"])
        value = record.get(self.key)
        if value is None:
            return
        self.trial.report(float(value), self.epochs)
        if self.trial.should_prune():
            raise self.pruned(f"pruned at epoch {self.epochs}")


def _log_trial(row: Mapping[str, Any], trials: int, key: str) -> None:
    shown = " ".join(f"{n}={v}" for n, v in row.items() if n not in {"trial", key, "state", "seconds", "epochs"})
    value = row[key]
    logger.info(
        "trial done: trial=%d/%d %s %s=%s state=%s epochs=%d seconds=%.2f",
        row["trial"],
        trials,
        shown,
        key,
        "–" if value is None else f"{value:.4f}",
        row["state"],
        row["epochs"],
        row["seconds"],
    )
