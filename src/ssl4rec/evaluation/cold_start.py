"""Cold-start item protocol: rank items that were never seen in training.

A seeded share of the catalog (10% by default) is held out *entirely* from
training: every event of those items leaves the train and valid parts. Test events
are then split into ``cold`` (the target is a held-out item) and ``warm`` (the rest);
both are ranked over the full catalog, held-out items included. An ID-only model has
no vector for a held-out item and cannot rank it; a text-enhanced model can.

Histories used to score the test are train + valid (what precedes the test event,
minus held-out items); the model is not retrained.

Example:
    >>> cs = cold_start_split(data, fraction=0.1, seed=0)
    >>> model = SASRec(item_repr="id+text").fit(cs.split.train, valid=cs.split.valid)
    >>> results = evaluate_cold_start(model, cs, metrics=["hit@10", "ndcg@10"])
    >>> results["cold"].metrics["ndcg@10"]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ssl4rec.data.interactions import Interactions
from ssl4rec.data.splits import Split, leave_one_out
from ssl4rec.errors import ConfigError, DataError
from ssl4rec.evaluation.evaluator import Scorer, evaluate_interactions
from ssl4rec.evaluation.metrics import Metric
from ssl4rec.evaluation.results import EvalResult

__all__ = ["ColdStartSplit", "cold_start_split", "evaluate_cold_start", "of_split"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class ColdStartSplit:
    """A split with a held-out item set.

    Attributes:
        split: train and valid without any event of a held-out item; test is the
            full test part of the base split.
        cold_items: sorted int64 indices of the held-out items.
        cold_test: test events whose item is held out.
        warm_test: the other test events.
        seed: seed that chose the held-out items.
    """

    split: Split
    cold_items: np.ndarray
    cold_test: Interactions
    warm_test: Interactions
    seed: int

    def summary(self) -> dict[str, int]:
        """Counts of cold and warm items and of test events on each."""
        return {
            **self.split.summary(),
            "cold_items": len(self.cold_items),
            "cold_test": len(self.cold_test),
            "warm_test": len(self.warm_test),
        }


def cold_start_split(
    data: Interactions,
    *,
    fraction: float = 0.1,
    seed: int = 0,
    base: Split | None = None,
) -> ColdStartSplit:
    """Hold out a seeded ``fraction`` of the items from training.

    Args:
        data: all interactions.
        fraction: share of the items that occur in ``data`` to hold out, in (0, 1).
        seed: seed of the item choice.
        base: the split to start from; default ``leave_one_out(data)``.

    Returns:
        A ``ColdStartSplit``.

    Raises:
        ConfigError: ``fraction`` outside (0, 1).
        DataError: no test event targets a held-out item (nothing to evaluate).
    """
    if isinstance(fraction, bool) or not 0.0 < float(fraction) < 1.0:
        raise ConfigError(f"cold_start_split: fraction must be in (0, 1); got {fraction!r}")
    base = leave_one_out(data) if base is None else base
    present = np.flatnonzero(data.item_counts > 0)
    size = max(1, int(round(fraction * len(present))))
    rng = np.random.default_rng(seed)
    cold = np.sort(rng.choice(present, size=size, replace=False)).astype(np.int64)
    is_cold = np.zeros(data.num_items, dtype=bool)
    is_cold[cold] = True
    train = base.train.select(~is_cold[base.train.items])
    valid = base.valid.select(~is_cold[base.valid.items])
    test_cold = is_cold[base.test.items]
    result = ColdStartSplit(
        split=Split(
            train=train,
            valid=valid,
            test=base.test,
            protocol=f"{base.protocol}+cold",
            cold_items=cold,
        ),
        cold_items=cold,
        cold_test=base.test.select(test_cold),
        warm_test=base.test.select(~test_cold),
        seed=seed,
    )
    if len(result.cold_test) == 0:
        raise DataError(
            f"cold_start_split: no test event targets one of the {size} held-out items "
            f"(fraction={fraction}, seed={seed}); raise fraction or use more data"
        )
    logger.info("cold-start split: %s", result.summary())
    return result


def of_split(split: Split, seed: int = 0) -> ColdStartSplit:
    """The ``ColdStartSplit`` of a split that carries ``cold_items``.

    Raises:
        DataError: the split has no held-out items.
    """
    if split.cold_items is None:
        raise DataError("of_split: the split holds no items out (cold_items is None)")
    is_cold = np.zeros(split.num_items, dtype=bool)
    is_cold[split.cold_items] = True
    test_cold = is_cold[split.test.items]
    return ColdStartSplit(
        split=split,
        cold_items=split.cold_items,
        cold_test=split.test.select(test_cold),
        warm_test=split.test.select(~test_cold),
        seed=seed,
    )


def evaluate_cold_start(
    model: Scorer,
    cold_split: ColdStartSplit,
    *,
    metrics: Sequence[str | Metric] = ("hit@10", "ndcg@10"),
    exclude_seen: bool = True,
    batch_size: int = 1024,
) -> dict[str, EvalResult]:
    """Full-ranking results on the cold and warm test events.

    Args:
        model: fitted on ``cold_split.split.train``.
        cold_split: from ``cold_start_split``.
        metrics: metric names.
        exclude_seen: mask train + valid items before ranking.
        batch_size: users scored at once.

    Returns:
        ``{"cold": EvalResult, "warm": EvalResult}`` (parts ``test-cold``/``test-warm``).
    """
    split = cold_split.split
    seen = split.seen_before("test") if exclude_seen else None
    out: dict[str, EvalResult] = {}
    with model.using_history(split.train_valid):
        for name, truth in (("cold", cold_split.cold_test), ("warm", cold_split.warm_test)):
            out[name] = evaluate_interactions(
                model,
                truth,
                seen=seen,
                metrics=metrics,
                batch_size=batch_size,
                train=split.train,
                part=f"test-{name}",
            )
    logger.info(
        "cold-start evaluation: model=%s cold=%s warm=%s",
        model.name,
        out["cold"].summary(),
        out["warm"].summary(),
    )
    return out
