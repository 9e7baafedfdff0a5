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
``score_history`` calls; only the method runs once per user.

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

__all__ = ["MAX_K", "fidelity"]

MAX_K = 10
"""Most history positions removed (or inserted) per user."""

_CURVES = ("deletion", "random", "recent", "insertion")
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

    rows: list[np.ndarray] = []  # variant histories, all users and curves
    owner: list[int] = []  # row -> position in ``sample``
    cell: list[tuple[int, int, int]] = []  # row -> (curve, user position, k)
    for n, (seq, target) in enumerate(zip(histories, targets, strict=True)):
        weights = explain(model, seq, [int(target)], method=method)[0].weights
        size = len(seq)
        top = min(size, MAX_K)
        orders = {
            "deletion": np.argsort(-weights, kind="stable"),
            "random": rng.permutation(size),
            "recent": np.arange(size)[::-1],
        }
        for k in range(top + 1):
            for c, curve in enumerate(_CURVES):
                if curve == "insertion":
                    variant = seq[np.sort(orders["deletion"][:k])]
                elif k == 0 and curve != "deletion":
                    continue  # the k = 0 deletion row is shared by the three orders
                else:
                    variant = np.delete(seq, orders[curve][:k])
                rows.append(variant)
                owner.append(n)
                cell.append((c, n, k))

    ranks = _target_ranks(model, rows, [histories[n] for n in owner], targets[owner])
    curves = np.full((len(_CURVES), len(sample), MAX_K + 1), np.nan)
    for (c, n, k), rank in zip(cell, ranks, strict=True):
        curves[c, n, k] = 1.0 / rank
    curves[1:3, :, 0] = curves[0, :, 0]  # every deletion curve starts from the full history
    auc = np.nanmean(curves, axis=2)  # (curves, users)
    deletion, random, recent, insertion = auc
    beats = (deletion < random) + 0.5 * (deletion == random)
    return {
        "deletion_auc": float(deletion.mean()),
        "random_deletion_auc": float(random.mean()),
        "recent_deletion_auc": float(recent.mean()),
        "insertion_auc": float(insertion.mean()),
        "share_beats_random": float(beats.mean()),
        "users": len(sample),
    }


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
