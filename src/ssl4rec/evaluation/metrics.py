"""Ranking and beyond-accuracy metrics as pure functions, plus the metric registry.

Accuracy metrics read a boolean hit matrix ``hits`` of shape ``(n_users, K)``
(``hits[r, j]``: the item ranked ``j`` for user ``r`` is relevant) and
``num_relevant`` of shape ``(n_users,)``; each returns one float64 value per user.
Definitions follow RecBole's, so numbers compare with it:

- Recall@K = hits / num_relevant
- NDCG@K = DCG / IDCG, binary gain, ``1 / log2(rank + 1)``, IDCG over
  ``min(num_relevant, K)`` relevant items at the top
- HitRate@K = 1 if any hit
- MRR@K = 1 / rank of the first hit within K, else 0
- Precision@K = hits / K
- MAP@K = sum over hit ranks j of Precision@j, divided by ``min(num_relevant, K)``

A user with no relevant items scores 0 on every accuracy metric.

Beyond-accuracy metrics read the recommendation lists ``recs`` of shape
``(n_users, K)`` (item indices, best first; ``-1`` marks an empty slot, e.g. where
only masked or NaN-scored items were left).

Metric names are parsed, never evaluated: ``parse_metric("ndcg@10")`` gives
``Metric(name="ndcg", k=10)``.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp

from ssl4rec.errors import ConfigError

__all__ = [
    "METRICS",
    "Metric",
    "MetricInfo",
    "average_popularity",
    "gini_index",
    "hit_rate",
    "intra_list_diversity",
    "item_coverage",
    "mean_average_precision",
    "mrr",
    "ndcg",
    "novelty",
    "parse_metric",
    "parse_metrics",
    "precision",
    "recall",
    "tail_items",
    "tail_share",
]

logger = logging.getLogger(__name__)

MetricKind = Literal["accuracy", "beyond"]


@dataclass(frozen=True)
class MetricInfo:
    """What the registry knows about one metric name."""

    kind: MetricKind
    """``"accuracy"`` (per-user values from the hit matrix) or ``"beyond"``."""
    per_user: bool
    """Whether the metric has one value per user (else only a list-level value)."""
    higher_is_better: bool
    """Direction of improvement (used by model selection)."""
    description: str


METRICS: dict[str, MetricInfo] = {
    "recall": MetricInfo("accuracy", True, True, "relevant items in the top K / num relevant"),
    "ndcg": MetricInfo("accuracy", True, True, "normalised discounted cumulative gain"),
    "hit": MetricInfo("accuracy", True, True, "1 if any relevant item is in the top K"),
    "mrr": MetricInfo("accuracy", True, True, "reciprocal rank of the first hit"),
    "precision": MetricInfo("accuracy", True, True, "relevant items in the top K / K"),
    "map": MetricInfo("accuracy", True, True, "mean average precision (RecBole)"),
    "coverage": MetricInfo("beyond", False, True, "distinct recommended items / num items"),
    "diversity": MetricInfo("beyond", True, True, "mean pairwise distance within a list"),
    "novelty": MetricInfo("beyond", True, True, "mean self-information -log2(pop / users)"),
    "gini": MetricInfo("beyond", False, False, "Gini index of recommendation counts"),
    "avg_pop": MetricInfo("beyond", True, False, "mean train popularity of recommended items"),
    "tail": MetricInfo("beyond", True, True, "share of recommended long-tail items"),
}
"""Metric registry: name -> info. Names are written ``<name>@<k>``."""


@dataclass(frozen=True, order=True)
class Metric:
    """A metric name with its cut-off, e.g. ``Metric("ndcg", 10)`` for ``"ndcg@10"``."""

    name: str
    k: int

    def __post_init__(self) -> None:
        if self.name not in METRICS:
            raise ConfigError(_unknown_message(self.name, f"{self.name}@{self.k}"))
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ConfigError(f"metric {self.name!r}: k must be an integer ≥ 1; got {self.k!r}")
        object.__setattr__(self, "k", int(self.k))

    def __str__(self) -> str:
        return f"{self.name}@{self.k}"

    @property
    def info(self) -> MetricInfo:
        """The registry entry of this metric's name."""
        return METRICS[self.name]

    @property
    def is_accuracy(self) -> bool:
        """Whether the metric is computed from the hit matrix (vs. the lists)."""
        return self.info.kind == "accuracy"


def _unknown_message(name: str, spec: str) -> str:
    close = difflib.get_close_matches(name, list(METRICS), n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown metric {spec!r}{hint}; valid names: {sorted(METRICS)}, written as name@k"


def parse_metric(spec: str | Metric) -> Metric:
    """Parse ``"name@k"`` (case and surrounding spaces ignored) into a ``Metric``.

    Raises:
        ConfigError: unknown name (with the valid names and a did-you-mean), a
            missing or non-integer cut-off, or ``k < 1``.
    """
    if isinstance(spec, Metric):
        return spec
    if not isinstance(spec, str):
        raise ConfigError(f"metric must be a string like 'ndcg@10'; got {spec!r}")
    text = spec.strip().lower()
    name, sep, k_text = text.partition("@")
    name = name.strip()
    if name not in METRICS:
        raise ConfigError(_unknown_message(name, spec))
    if not sep:
        raise ConfigError(f"metric {spec!r} needs a cut-off, e.g. '{name}@10'")
    k_text = k_text.strip()
    if not k_text.isdigit():
        raise ConfigError(f"metric {spec!r}: k must be an integer ≥ 1; got {k_text!r}")
    return Metric(name, int(k_text))


def parse_metrics(specs: Iterable[str | Metric] | str | Metric) -> tuple[Metric, ...]:
    """Parse several metric names, reporting every bad one in one ``ConfigError``.

    Duplicates are dropped; the order of first appearance is kept.
    """
    if isinstance(specs, (str, Metric)):
        specs = [specs]
    out: list[Metric] = []
    problems: list[str] = []
    for spec in specs:
        try:
            metric = parse_metric(spec)
        except ConfigError as err:
            problems.append(str(err))
            continue
        if metric not in out:
            out.append(metric)
    if problems:
        if len(problems) == 1:
            raise ConfigError(problems[0])
        raise ConfigError(
            f"{len(problems)} bad metric names:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    if not out:
        raise ConfigError("metrics must name at least one metric, e.g. ['ndcg@10']; got []")
    return tuple(out)


# ---------------------------------------------------------------------- accuracy
def _prepare(
    hits: np.ndarray, num_relevant: np.ndarray, k: int | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate shapes; cut ``hits`` to ``k`` columns (fewer when the list is shorter)."""
    hits = np.asarray(hits, dtype=bool)
    num_relevant = np.asarray(num_relevant, dtype=np.float64)
    if hits.ndim != 2:
        raise ValueError(f"hits must be 2-D (n_users, K); got shape {hits.shape}")
    if num_relevant.shape != (hits.shape[0],):
        raise ValueError(
            f"num_relevant must have shape ({hits.shape[0]},); got {num_relevant.shape}"
        )
    k = hits.shape[1] if k is None else int(k)
    if k < 1:
        raise ConfigError(f"k must be ≥ 1; got {k}")
    return hits[:, :k], num_relevant, k


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros(np.broadcast_shapes(num.shape, den.shape), dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def recall(hits: np.ndarray, num_relevant: np.ndarray, k: int | None = None) -> np.ndarray:
    """Recall@K per user: hits in the top K / number of relevant items.

    Args:
        hits: bool ``(n_users, >=K)``; only the first ``k`` columns are read.
        num_relevant: ``(n_users,)`` relevant items per user.
        k: cut-off; defaults to ``hits.shape[1]``.

    Returns:
        float64 ``(n_users,)``.
    """
    hits, num_relevant, _ = _prepare(hits, num_relevant, k)
    return _safe_divide(hits.sum(axis=1).astype(np.float64), num_relevant)


def precision(hits: np.ndarray, num_relevant: np.ndarray, k: int | None = None) -> np.ndarray:
    """Precision@K per user: hits in the top K / K (K even where the list is shorter)."""
    hits, _, k = _prepare(hits, num_relevant, k)
    return hits.sum(axis=1).astype(np.float64) / k


def hit_rate(hits: np.ndarray, num_relevant: np.ndarray, k: int | None = None) -> np.ndarray:
    """HitRate@K per user: 1.0 if any of the top K is relevant, else 0.0."""
    hits, _, _ = _prepare(hits, num_relevant, k)
    return np.asarray(hits.any(axis=1), dtype=np.float64)


def mrr(hits: np.ndarray, num_relevant: np.ndarray, k: int | None = None) -> np.ndarray:
    """MRR@K per user: 1 / (1-based rank of the first hit within K), else 0."""
    hits, _, _ = _prepare(hits, num_relevant, k)
    any_hit = hits.any(axis=1)
    first = hits.argmax(axis=1)  # 0 where there is no hit; masked below
    return np.where(any_hit, 1.0 / (first + 1.0), 0.0)


def ndcg(hits: np.ndarray, num_relevant: np.ndarray, k: int | None = None) -> np.ndarray:
    """NDCG@K per user with binary gain; IDCG over ``min(num_relevant, K)`` items."""
    hits, num_relevant, k = _prepare(hits, num_relevant, k)
    discounts = 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))  # (k,)
    dcg = hits.astype(np.float64) @ discounts[: hits.shape[1]]
    ideal_cum = np.concatenate([[0.0], np.cumsum(discounts)])  # ideal_cum[m] = IDCG of m hits
    ideal_n = np.minimum(num_relevant, k).astype(np.int64)
    return _safe_divide(dcg, ideal_cum[ideal_n])


def mean_average_precision(
    hits: np.ndarray, num_relevant: np.ndarray, k: int | None = None
) -> np.ndarray:
    """MAP@K per user (RecBole): sum of Precision@j at hit ranks j / ``min(num_relevant, K)``."""
    hits, num_relevant, k = _prepare(hits, num_relevant, k)
    ranks = np.arange(1, hits.shape[1] + 1, dtype=np.float64)
    prec_at = np.cumsum(hits, axis=1) / ranks  # (n, K): Precision@j
    total = (prec_at * hits).sum(axis=1)
    return _safe_divide(total, np.minimum(num_relevant, k))


ACCURACY_FUNCTIONS = {
    "recall": recall,
    "ndcg": ndcg,
    "hit": hit_rate,
    "mrr": mrr,
    "precision": precision,
    "map": mean_average_precision,
}
"""Accuracy metric name -> function ``(hits, num_relevant, k) -> (n_users,)``."""


# ---------------------------------------------------------------------- beyond accuracy
def _check_recs(recs: np.ndarray, num_items: int) -> np.ndarray:
    recs = np.asarray(recs)
    if recs.ndim != 2:
        raise ValueError(f"recs must be 2-D (n_users, K); got shape {recs.shape}")
    recs = recs.astype(np.int64, copy=False)
    if recs.size and recs.max() >= num_items:
        raise ValueError(f"recs must hold item indices < {num_items}; got {recs.max()}")
    return recs


def item_coverage(recs: np.ndarray, num_items: int) -> float:
    """Distinct recommended items / ``num_items``.

    Example: lists ``[[0, 1], [1, 2]]`` over 4 items cover {0, 1, 2}: 3 / 4 = 0.75.
    """
    recs = _check_recs(recs, num_items)
    valid = recs[recs >= 0]
    return float(np.unique(valid).size / num_items) if num_items else 0.0


def gini_index(recs: np.ndarray, num_items: int) -> float:
    """Gini index of how often each of ``num_items`` items is recommended.

    0 when every item is recommended equally often, close to 1 when a few items take
    all slots. With counts ``c`` sorted ascending and 1-based position ``i``:
    ``G = sum((2i - n - 1) * c_i) / (n * sum(c))``.
    """
    recs = _check_recs(recs, num_items)
    counts = np.sort(np.bincount(recs[recs >= 0], minlength=num_items)).astype(np.float64)
    total = counts.sum()
    if total == 0 or num_items == 0:
        return 0.0
    idx = np.arange(1, num_items + 1, dtype=np.float64)
    return float(((2 * idx - num_items - 1) * counts).sum() / (num_items * total))


def _row_mean(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Mean per row over valid slots (0 where a row has none)."""
    return _safe_divide(np.where(valid, values, 0.0).sum(axis=1), valid.sum(axis=1))


def novelty(recs: np.ndarray, item_popularity: np.ndarray, num_train_users: int) -> np.ndarray:
    """Mean self-information ``-log2(pop_i / num_train_users)`` of each user's list.

    Items never seen in training count as popularity 1 (finite, maximal novelty).

    Args:
        recs: ``(n_users, K)`` item indices, ``-1`` for empty slots.
        item_popularity: ``(num_items,)`` train users per item.
        num_train_users: users with at least one training event.

    Returns:
        float64 ``(n_users,)``.
    """
    pop = np.asarray(item_popularity, dtype=np.float64)
    recs = _check_recs(recs, len(pop))
    valid = recs >= 0
    info = -np.log2(np.maximum(pop, 1.0) / max(num_train_users, 1))  # (num_items,)
    return _row_mean(info[np.where(valid, recs, 0)], valid)


def average_popularity(recs: np.ndarray, item_popularity: np.ndarray) -> np.ndarray:
    """Mean training popularity of each user's recommended items, ``(n_users,)``."""
    pop = np.asarray(item_popularity, dtype=np.float64)
    recs = _check_recs(recs, len(pop))
    valid = recs >= 0
    return _row_mean(pop[np.where(valid, recs, 0)], valid)


def tail_items(item_popularity: np.ndarray, head_share: float = 0.8) -> np.ndarray:
    """Boolean ``(num_items,)``: True for long-tail items.

    The head is the smallest set of most popular items that together hold
    ``head_share`` of all training events; every other item is in the tail.
    Ties in popularity are broken by item index (stable sort).
    """
    pop = np.asarray(item_popularity, dtype=np.float64)
    order = np.argsort(-pop, kind="stable")
    cum = np.cumsum(pop[order])
    total = cum[-1] if len(cum) else 0.0
    # number of head items: first position where the running share reaches head_share
    num_head = int(np.searchsorted(cum, head_share * total - 1e-9 * total, side="left")) + 1
    num_head = min(num_head, len(pop)) if total > 0 else 0
    tail = np.ones(len(pop), dtype=bool)
    tail[order[:num_head]] = False
    return tail


def tail_share(recs: np.ndarray, is_tail: np.ndarray) -> np.ndarray:
    """Share of long-tail items in each user's list, ``(n_users,)``."""
    is_tail = np.asarray(is_tail, dtype=bool)
    recs = _check_recs(recs, len(is_tail))
    valid = recs >= 0
    return _row_mean(is_tail[np.where(valid, recs, 0)].astype(np.float64), valid)


def _pairwise_mean_distance(sim: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Mean of ``1 - sim`` over pairs of distinct valid slots; ``sim`` is ``(n, K, K)``."""
    pair = valid[:, :, None] & valid[:, None, :]
    k = valid.shape[1]
    pair &= ~np.eye(k, dtype=bool)[None]
    num_pairs = pair.sum(axis=(1, 2))
    total = np.where(pair, 1.0 - sim, 0.0).sum(axis=(1, 2))
    return _safe_divide(total, num_pairs.astype(np.float64))


def intra_list_diversity(
    recs: np.ndarray,
    *,
    item_vectors: np.ndarray | None = None,
    item_genres: Sequence[Sequence[str]] | None = None,
    chunk_size: int = 1024,
) -> np.ndarray:
    """Mean pairwise distance between the items of each user's list.

    With ``item_vectors`` the distance is ``1 - cosine`` (a zero vector has cosine
    0 with everything); otherwise the Jaccard distance between genre sets (two
    empty sets have distance 0). Lists with fewer than two items score 0.

    Args:
        recs: ``(n_users, K)`` item indices, ``-1`` for empty slots.
        item_vectors: ``(num_items, d)`` item embeddings.
        item_genres: genre list per item index.
        chunk_size: users per chunk (bounds memory at ``chunk_size * K * d``).

    Returns:
        float64 ``(n_users,)``.

    Raises:
        ConfigError: neither ``item_vectors`` nor ``item_genres`` given.
    """
    if item_vectors is not None:
        vecs = np.asarray(item_vectors, dtype=np.float64)
        if vecs.ndim != 2:
            raise ConfigError(f"item_vectors must be 2-D (num_items, d); got shape {vecs.shape}")
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        feats: np.ndarray | sp.csr_matrix = _safe_divide(vecs, norms)
        num_items = vecs.shape[0]
    elif item_genres is not None:
        feats = _genre_matrix(item_genres)
        num_items = feats.shape[0]
    else:
        raise ConfigError("diversity needs item_vectors (num_items, d) or item genres; got neither")
    recs = _check_recs(recs, num_items)
    out = np.zeros(recs.shape[0], dtype=np.float64)
    for start in range(0, recs.shape[0], chunk_size):
        block = recs[start : start + chunk_size]
        valid = block >= 0
        flat = np.where(valid, block, 0)
        if isinstance(feats, np.ndarray):
            v = feats[flat]  # (b, K, d)
            sim = v @ v.transpose(0, 2, 1)  # (b, K, K) cosine
        else:
            sizes = np.asarray(feats.sum(axis=1)).ravel()  # (num_items,)
            g = feats[flat.ravel()].toarray().reshape(*flat.shape, -1)  # (b, K, genres)
            inter = g @ g.transpose(0, 2, 1)  # (b, K, K)
            size = sizes[flat]  # (b, K)
            union = size[:, :, None] + size[:, None, :] - inter
            sim = np.where(union > 0, inter / np.maximum(union, 1.0), 1.0)
        out[start : start + len(block)] = _pairwise_mean_distance(sim, valid)
    return out


def _genre_matrix(item_genres: Sequence[Sequence[str]]) -> sp.csr_matrix:
    """Binary ``(num_items, num_genres)`` matrix from genre lists."""
    vocab: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, genres in enumerate(item_genres):
        for g in set(genres or ()):
            rows.append(i)
            cols.append(vocab.setdefault(str(g), len(vocab)))
    mat = sp.csr_matrix(
        (np.ones(len(rows)), (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))),
        shape=(len(item_genres), max(len(vocab), 1)),
    )
    return mat
