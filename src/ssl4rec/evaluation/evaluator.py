"""Batched evaluation of a fitted recommender: full ranking by default.

Per batch of users the model scores every item once, seen items are masked to
``-inf``, the top ``max(K)`` is taken once with ``torch.topk``, and every metric
at every cut-off is derived from that one ranking: a boolean hit matrix (from a
sorted-key truth lookup, no Python loop over users) for accuracy metrics and the
recommendation lists for beyond-accuracy metrics.

Example:
    >>> result = evaluate(model, split, metrics=["ndcg@10", "recall@20"])
    >>> result.metrics["ndcg@10"]
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from functools import partial
from typing import Any, ClassVar, Protocol

import numpy as np
import polars as pl
import scipy.sparse as sp
import torch

from ssl4rec.data.interactions import Interactions
from ssl4rec.data.splits import Split
from ssl4rec.errors import ConfigError, DataError
from ssl4rec.evaluation import metrics as metric_fns
from ssl4rec.evaluation.metrics import Metric, parse_metrics
from ssl4rec.evaluation.protocols import TruthLookup, full_ranking, sampled_ranking
from ssl4rec.evaluation.ranking import mask_rows, prepare_scores
from ssl4rec.evaluation.results import EvalResult

__all__ = ["Scorer", "evaluate", "evaluate_interactions"]

logger = logging.getLogger(__name__)


class _Histories(Protocol):
    def csr(self) -> sp.csr_matrix: ...


class Scorer(Protocol):
    """What the evaluator needs of a model (every ``Recommender`` is one).

    The evaluator depends on this shape, not on the model classes, so evaluation
    sits below training and models in the layers.
    """

    name: ClassVar[str]
    is_sequential: ClassVar[bool]

    @property
    def num_items(self) -> int:
        """Catalog size: the width of a score row."""
        ...

    @property
    def num_users(self) -> int:
        """Users the model knows."""
        ...

    @property
    def history(self) -> _Histories | None:
        """Training histories (for popularity metrics when no train part is given)."""
        ...

    @property
    def item_table(self) -> pl.DataFrame | None:
        """Item metadata (genres for diversity when no train part is given)."""
        ...

    def score(self, users: np.ndarray) -> torch.Tensor:
        """``(len(users), num_items)`` float scores from the users' histories."""
        ...

    def using_history(self, data: Interactions) -> AbstractContextManager[None]:
        """Within the block, ``score`` reads users' histories from ``data``."""
        ...


def evaluate(
    model: Scorer,
    split: Split,
    *,
    part: str = "test",
    metrics: Sequence[str | Metric] = ("ndcg@10",),
    exclude_seen: bool = True,
    batch_size: int = 1024,
    item_vectors: np.ndarray | None = None,
    sampled_negatives: int | None = None,
    seed: int = 0,
) -> EvalResult:
    """Evaluate ``model`` on one part of ``split``.

    Args:
        model: a fitted recommender (usually fitted on ``split.train``).
        split: the split; ``split.train`` supplies popularity for novelty,
            avg_pop and tail.
        part: ``"valid"`` or ``"test"``.
        metrics: metric names like ``"ndcg@10"`` or parsed ``Metric`` objects.
        exclude_seen: mask items from the earlier parts
            (``split.seen_before(part)``) before ranking.

    Sequential models score the test part from train + valid histories (without
    retraining); other models score from the training history they were fitted on.
        batch_size: users scored at once.
        item_vectors: ``(num_items, d)`` vectors for diversity; without them the
            item genres of the training data are used.
        sampled_negatives: if given, rank each user's relevant items against this
            many uniformly sampled unseen negatives instead of all items.
        seed: seed of the negative sampler.

    Returns:
        An ``EvalResult`` labelled ``protocol="full"`` or ``"sampled-<N>"``.

    Raises:
        ConfigError: bad part, metric name, batch size or sampler settings.
    """
    truth = split.part(part)
    if part == "train":
        raise ConfigError("evaluate(): part must be 'valid' or 'test'; got 'train'")
    seen = split.seen_before(part) if exclude_seen else None
    run = partial(
        evaluate_interactions,
        model,
        truth,
        seen=seen,
        metrics=metrics,
        batch_size=batch_size,
        item_vectors=item_vectors,
        train=split.train,
        sampled_negatives=sampled_negatives,
        seed=seed,
        part=part,
    )
    if part == "test" and model.is_sequential:
        # A sequential model predicts the next event from everything before it, and
        # the events just before a test event are in valid (RecBole does the same).
        with model.using_history(split.train_valid):
            return run()
    return run()


def evaluate_interactions(
    model: Scorer,
    truth: Interactions,
    *,
    seen: sp.csr_matrix | None,
    metrics: Sequence[str | Metric] = ("ndcg@10",),
    batch_size: int = 1024,
    users: np.ndarray | None = None,
    item_vectors: np.ndarray | None = None,
    train: Interactions | None = None,
    sampled_negatives: int | None = None,
    seed: int = 0,
    part: str = "custom",
) -> EvalResult:
    """Evaluate ``model`` against the events of ``truth``.

    Args:
        model: a fitted recommender over the same vocabularies as ``truth``.
        truth: relevant events; every distinct (user, item) pair counts once.
        seen: ``(num_users, num_items)`` matrix of items to mask (set to ``-inf``)
            before ranking, or None for no masking.
        metrics: metric names like ``"ndcg@10"`` or parsed ``Metric`` objects.
        batch_size: users scored at once.
        users: user indices to evaluate; default: users with ≥ 1 event in ``truth``.
        item_vectors: ``(num_items, d)`` vectors for diversity (else genres).
        train: training events for popularity (novelty, avg_pop, tail); default:
            the model's training history.
        sampled_negatives: rank against this many sampled negatives per user
            (labelled ``"sampled-<N>"``); None ranks all items (``"full"``).
        seed: seed of the negative sampler.
        part: label stored in the result.

    Returns:
        ``EvalResult`` with means, per-user values and the users, in order.

    Raises:
        ConfigError: bad metric names or settings.
        DataError: mismatched shapes between model, truth, seen and users.
    """
    start_time = time.perf_counter()
    metric_list = parse_metrics(metrics)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"evaluate(): batch_size must be an integer ≥ 1; got {batch_size!r}")
    if sampled_negatives is not None:
        if (
            isinstance(sampled_negatives, bool)
            or not isinstance(sampled_negatives, int)
            or sampled_negatives < 1
        ):
            raise ConfigError(
                f"evaluate(): sampled_negatives must be an integer ≥ 1 or None; "
                f"got {sampled_negatives!r}"
            )
        beyond = [str(m) for m in metric_list if not m.is_accuracy]
        if beyond:
            raise ConfigError(
                f"evaluate(): beyond-accuracy metrics need full ranking; got {beyond} "
                f"with sampled_negatives={sampled_negatives}"
            )
    num_items = model.num_items
    if truth.num_items != num_items:
        raise DataError(
            f"evaluate(): truth has {truth.num_items} items but the model scores {num_items}"
        )
    if truth.num_users != model.num_users:
        raise DataError(
            f"evaluate(): truth has {truth.num_users} users but the model knows {model.num_users}"
        )
    if seen is not None and seen.shape != (truth.num_users, num_items):
        raise DataError(
            f"evaluate(): seen must have shape ({truth.num_users}, {num_items}); got {seen.shape}"
        )
    if seen is not None:
        seen = seen.tocsr()
    lookup = TruthLookup(truth.csr())
    users = _resolve_users(users, lookup, truth.num_users)
    n = len(users)
    max_k = max(m.k for m in metric_list)

    hits = np.zeros((n, max_k), dtype=bool)  # (n, K): rank j of user r is relevant
    recs = np.full((n, max_k), -1, dtype=np.int64)  # (n, K): recommended item, -1 empty
    rng = np.random.default_rng(seed) if sampled_negatives is not None else None
    with torch.no_grad():
        for start in range(0, n, batch_size):
            batch = users[start : start + batch_size]
            scores = model.score(batch)
            if scores.shape != (len(batch), num_items):
                raise DataError(
                    f"{type(model).__name__}.score returned shape {tuple(scores.shape)}; "
                    f"expected ({len(batch)}, {num_items})"
                )
            scores = prepare_scores(scores)  # a copy: NaN -> -inf, masked in place below
            batch_seen = seen[batch] if seen is not None else None
            if batch_seen is not None:
                mask_rows(scores, batch_seen)
            if rng is None:
                b_hits, b_recs = full_ranking(scores, batch, lookup, max_k)
            else:
                assert sampled_negatives is not None
                b_hits, b_recs = sampled_ranking(
                    scores,
                    batch,
                    lookup,
                    max_k,
                    num_negatives=sampled_negatives,
                    excluded=batch_seen,
                    rng=rng,
                )
            width = b_hits.shape[1]  # < max_k when fewer items or candidates exist
            hits[start : start + len(batch), :width] = b_hits
            recs[start : start + len(batch), :width] = b_recs

    num_relevant = lookup.num_relevant(users)
    values, per_user = _compute(
        metric_list,
        hits,
        recs,
        num_relevant,
        num_items=num_items,
        model=model,
        train=train,
        item_vectors=item_vectors,
    )
    protocol = "full" if sampled_negatives is None else f"sampled-{sampled_negatives}"
    seconds = time.perf_counter() - start_time
    result = EvalResult(
        metrics=values,
        per_user=per_user,
        users=users,
        protocol=protocol,
        exclude_seen=seen is not None,
        part=part,
        num_users=n,
        seconds=seconds,
        extra={"model": model.name},
    )
    logger.info(
        "evaluation done: model=%s %s seconds=%.3f",
        result.extra["model"],
        result.summary(),
        seconds,
    )
    return result


def _resolve_users(users: np.ndarray | None, lookup: TruthLookup, num_users: int) -> np.ndarray:
    if users is None:
        counts = np.diff(lookup.indptr)
        return np.flatnonzero(counts > 0).astype(np.int64)
    arr = np.asarray(users)
    if arr.ndim != 1 or not (arr.size == 0 or np.issubdtype(arr.dtype, np.integer)):
        raise DataError(
            f"evaluate(): users must be a 1-D integer array; got {arr.dtype} {arr.shape}"
        )
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= num_users):
        raise DataError(
            f"evaluate(): users must be in [0, {num_users}); got range [{arr.min()}, {arr.max()}]"
        )
    if len(np.unique(arr)) != len(arr):
        raise DataError("evaluate(): users must not repeat")
    return arr


def _popularity(model: Scorer, train: Interactions | None) -> tuple[np.ndarray, int]:
    """Train users per item ``(num_items,)`` and the number of users with history."""
    if train is not None:
        mat = train.csr()
    else:
        if model.history is None:
            raise ConfigError("evaluate(): popularity metrics need train or a fitted model")
        mat = model.history.csr()
    pop = np.asarray((mat > 0).sum(axis=0)).ravel().astype(np.float64)
    num_active = int((np.diff(mat.indptr) > 0).sum())
    return pop, num_active


def _genres(model: Scorer, train: Interactions | None) -> list[list[str]] | None:
    if train is not None:
        genres = train.item_genres()
        if genres is not None:
            return genres
    table = model.item_table
    if table is None:
        return None
    for col in ("genres", "tags", "categories"):
        if col in table.columns:
            return [list(v) if v is not None else [] for v in table.get_column(col).to_list()]
    return None


def _compute(
    metric_list: Sequence[Metric],
    hits: np.ndarray,
    recs: np.ndarray,
    num_relevant: np.ndarray,
    *,
    num_items: int,
    model: Scorer,
    train: Interactions | None,
    item_vectors: np.ndarray | None,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Metric values (and per-user arrays) from the hit matrix and the lists."""
    values: dict[str, float] = {}
    per_user: dict[str, np.ndarray] = {}
    cache: dict[str, Any] = {}

    def popularity() -> tuple[np.ndarray, int]:
        if "pop" not in cache:
            cache["pop"] = _popularity(model, train)
        return cache["pop"]

    for metric in metric_list:
        key, k = str(metric), metric.k
        lists = recs[:, :k]
        user_values: np.ndarray | None = None
        if metric.is_accuracy:
            user_values = metric_fns.ACCURACY_FUNCTIONS[metric.name](hits, num_relevant, k)
        elif metric.name == "coverage":
            values[key] = metric_fns.item_coverage(lists, num_items)
        elif metric.name == "gini":
            values[key] = metric_fns.gini_index(lists, num_items)
        elif metric.name == "novelty":
            pop, num_active = popularity()
            user_values = metric_fns.novelty(lists, pop, num_active)
        elif metric.name == "avg_pop":
            user_values = metric_fns.average_popularity(lists, popularity()[0])
        elif metric.name == "tail":
            if "tail" not in cache:
                cache["tail"] = metric_fns.tail_items(popularity()[0])
            user_values = metric_fns.tail_share(lists, cache["tail"])
        elif metric.name == "diversity":
            if item_vectors is not None:
                vecs = np.asarray(item_vectors)
                if vecs.ndim != 2 or vecs.shape[0] != num_items:
                    raise DataError(
                        f"evaluate(): item_vectors must have shape ({num_items}, d); "
                        f"got {vecs.shape}"
                    )
                user_values = metric_fns.intra_list_diversity(lists, item_vectors=vecs)
            else:
                genres = _genres(model, train)
                if genres is None:
                    raise ConfigError(
                        f"evaluate(): {key} needs item_vectors (num_items, d) or item genres "
                        "in the item table; got neither"
                    )
                user_values = metric_fns.intra_list_diversity(lists, item_genres=genres)
        else:  # pragma: no cover - the registry and this dispatch are kept in step
            raise ConfigError(f"evaluate(): no implementation for metric {key!r}")
        if user_values is not None:
            per_user[key] = user_values
            values[key] = float(user_values.mean()) if len(user_values) else float("nan")
    return values, per_user
