"""How faithful an explanation method is: deletion and insertion curves, measured.

For a seeded sample of users with at least two training events, the target is the
model's top-1 recommendation (the user's items excluded). The method weighs the
user's history for that target; then, for ``k = 0..K`` (``K = min(len(history), 10)``):

- deletion: the ``k`` history positions with the largest weights are removed and the
  history is rescored. The same is done with ``k`` random positions (seeded) and with
  the ``k`` most recent ones, the two baselines an explanation has to beat;
- insertion: the history is rebuilt from nothing with the ``k`` positions with the
  largest weights (kept in their time order).

Each curve records the target's reciprocal rank among the candidate items (the
catalog without the user's full history, so the items removed from the history do
not compete with it; ties count half): 1 at ``k = 0`` of deletion, and a value in
``(0, 1]`` that does not depend on the scale of the model's scores, so AUCs compare
across models. An AUC is the mean of a curve over ``k = 0..K``, per user, then
averaged over users: a faithful method makes the deletion AUC low (removing what it
points at demotes the target fast) and the insertion AUC high.

All variant histories of all sampled users are scored together, in batches of
``score_history`` calls; only the method runs once per user. ``compare_fidelity``
measures several methods on the same sample and scores the baselines once.

Example:
    >>> fidelity(model, split, "item-weights", users=200)
    {'deletion_auc': 0.31, 'random_deletion_auc': 0.74, ..., 'users': 200}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ssl4rec.data.interactions import Interactions
from ssl4rec.data.splits import Split
from ssl4rec.errors import ConfigError, DataError
from ssl4rec.evaluation.ranking import mask_rows, prepare_scores
from ssl4rec.explain.base import explain
from ssl4rec.models.base import History, Recommender, histories_to_csr

__all__ = ["MAX_K", "compare_fidelity", "fidelity"]

MAX_K = 10
"""Most history positions removed (or inserted) per user."""

_SCORED_CELLS = 1 << 24
"""Score-matrix cells (rows × catalog) per ``score_history`` call."""


def fidelity(
    model: Recommender[Any],
    split_or_interactions: Split | Interactions,
    method: str,
    *,
    users: int = 200,
    seed: int = 0,
) -> dict[str, float]:
    """Deletion and insertion fidelity of ``method`` on ``model`` (see the module doc).

    Args:
        model: a fitted model over the same vocabularies as the data.
        split_or_interactions: the training events (a ``Split``'s ``train``) whose
            per-user histories, oldest first, are explained.
        method: a registered explanation method that supports ``model``.
        users: how many users to sample (all eligible users if fewer).
        seed: seed of the user sample and of the random deletion baseline.

    Returns:
        ``deletion_auc`` (lower is better), ``random_deletion_auc`` and
        ``recent_deletion_auc`` (the baselines), ``insertion_auc`` (higher is better),
        ``share_beats_random`` (share of users whose deletion AUC is below the random
        one; ties count half) and ``users`` (how many were measured).

    Raises:
        ConfigError: ``users`` below 1, or a method the model does not support.
        DataError: data over other vocabularies, or no user with two events.
    """
    return compare_fidelity(model, split_or_interactions, [method], users=users, seed=seed)[method]


def compare_fidelity(
    model: Recommender[Any],
    split_or_interactions: Split | Interactions,
    methods: Sequence[str],
    *,
    users: int = 200,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """``fidelity`` of several methods on the same users, targets and baselines.

    The sample, the targets and the random and most-recent deletions do not depend
    on the method, so they are scored once: each method costs its own explanations
    and its deletion and insertion rows only. Every method's result equals
    ``fidelity(model, split_or_interactions, method, users=users, seed=seed)``.

    Returns:
        ``method -> fidelity(...)`` in the order of ``methods``.
    """
    if isinstance(users, bool) or not isinstance(users, int) or users < 1:
        raise ConfigError(f"fidelity(): users must be an integer ≥ 1; got {users!r}")
    data = split_or_interactions
    if isinstance(data, Split):
        data = data.train
    if (data.num_users, data.num_items) != (model.num_users, model.num_items):
        raise DataError(
            f"fidelity(): the data has {data.num_users} users and {data.num_items} items; "
            f"the model knows {model.num_users} and {model.num_items}"
        )
    history = History.from_interactions(data)
    eligible = np.flatnonzero(np.diff(history.indptr) >= 2)
    if len(eligible) == 0:
        raise DataError("fidelity(): no user has a training history of 2 items or more")
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(eligible, size=min(users, len(eligible)), replace=False))
    histories = history.sequences(sample)
    targets = _top1(model, histories)
    tops = [min(len(seq), MAX_K) for seq in histories]  # K per user

    # The baselines: deletion curves (k = 0 shared) in random and most-recent order.
    baseline = _Curves(len(sample))
    for n, seq in enumerate(histories):
        baseline.add("full", n, 0, seq)
        baseline.add("empty", n, 0, seq[:0])
        order = rng.permutation(len(seq))
        for k in range(1, tops[n] + 1):
            baseline.add("random", n, k, np.delete(seq, order[:k]))
            baseline.add("recent", n, k, seq[: len(seq) - k])
    base = baseline.values(model, histories, targets)
    for curve in ("random", "recent"):
        base[curve][:, 0] = base["full"][:, 0]
    random = np.nanmean(base["random"], axis=1)  # (users,)

    results = {}
    for method in methods:
        explained = _Curves(len(sample))
        for n, (seq, target) in enumerate(zip(histories, targets, strict=True)):
            weights = explain(model, seq, [int(target)], method=method)[0].weights
            order = np.argsort(-weights, kind="stable")
            for k in range(1, tops[n] + 1):
                explained.add("deletion", n, k, np.delete(seq, order[:k]))
                explained.add("insertion", n, k, seq[np.sort(order[:k])])  # time order kept
        curves = explained.values(model, histories, targets)
        curves["deletion"][:, 0] = base["full"][:, 0]
        curves["insertion"][:, 0] = base["empty"][:, 0]
        deletion = np.nanmean(curves["deletion"], axis=1)
        beats = (deletion < random) + 0.5 * (deletion == random)
        results[method] = {
            "deletion_auc": float(deletion.mean()),
            "random_deletion_auc": float(random.mean()),
            "recent_deletion_auc": float(np.nanmean(base["recent"], axis=1).mean()),
            "insertion_auc": float(np.nanmean(curves["insertion"], axis=1).mean()),
            "share_beats_random": float(beats.mean()),
            "users": len(sample),
        }
    return results


class _Curves:
    """Variant histories to score, each filling one point of one user's curve."""

    def __init__(self, users: int) -> None:
        self.users = users
        self.rows: list[np.ndarray] = []
        self.cells: list[tuple[str, int, int]] = []  # (curve, user position, k)

    def add(self, curve: str, user: int, k: int, variant: np.ndarray) -> None:
        self.rows.append(variant)
        self.cells.append((curve, user, k))

    def values(
        self, model: Recommender[Any], histories: Sequence[np.ndarray], targets: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Per curve, ``(users, MAX_K + 1)`` reciprocal ranks (NaN where not measured)."""
        owners = np.array([user for _, user, _ in self.cells], dtype=np.int64)
        ranks = _target_ranks(model, self.rows, [histories[u] for u in owners], targets[owners])
        out: dict[str, np.ndarray] = {}
        for (curve, user, k), rank in zip(self.cells, ranks, strict=True):
            if curve not in out:
                out[curve] = np.full((self.users, MAX_K + 1), np.nan)
            out[curve][user, k] = 1.0 / rank
        return out


def _top1(model: Recommender[Any], histories: Sequence[np.ndarray]) -> np.ndarray:
    """The best-scored item outside each history, int64 ``(len(histories),)``."""
    out = []
    for start, stop in _chunks(len(histories), model.num_items):
        part = histories[start:stop]
        scores = _scores(model, part, part)
        out.append(torch.argmax(scores, dim=1).numpy())
    return np.concatenate(out).astype(np.int64)


def _target_ranks(
    model: Recommender[Any],
    rows: Sequence[np.ndarray],
    full: Sequence[np.ndarray],
    targets: np.ndarray,
) -> np.ndarray:
    """Rank of ``targets[r]`` after scoring ``rows[r]``, among items outside ``full[r]``.

    Returns:
        float64 ``(len(rows),)``: 1 + items scored higher + half the items tied.
    """
    out = []
    for start, stop in _chunks(len(rows), model.num_items):
        scores = _scores(model, rows[start:stop], full[start:stop])  # (b, num_items)
        target = torch.from_numpy(targets[start:stop])
        value = scores.gather(1, target[:, None])  # (b, 1)
        higher = (scores > value).sum(dim=1)
        tied = (scores == value).sum(dim=1) - 1
        out.append((1.0 + higher + 0.5 * tied).numpy().astype(np.float64))
    return np.concatenate(out) if out else np.zeros(0)


def _scores(
    model: Recommender[Any], rows: Sequence[np.ndarray], masked: Sequence[np.ndarray]
) -> torch.Tensor:
    """Scores ``(len(rows), num_items)`` of ``rows`` with the items of ``masked[r]`` at -inf."""
    with torch.no_grad():
        scores = prepare_scores(model.score_history(rows).cpu())
    return mask_rows(scores, histories_to_csr(masked, model.num_items))


def _chunks(total: int, num_items: int) -> list[tuple[int, int]]:
    """``(start, stop)`` row ranges that keep one score matrix under ``_SCORED_CELLS``."""
    step = max(1, min(4096, _SCORED_CELLS // max(num_items, 1)))
    return [(start, min(start + step, total)) for start in range(0, total, step)]
