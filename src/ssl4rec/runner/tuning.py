"""Grid search over hyperparameters, selected on the validation part only."""

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

__all__ = ["grid_search"]

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
