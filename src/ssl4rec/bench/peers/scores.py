"""A peer's score rows ranked by our evaluator, with and without history masking.

RecBole masks nothing for its sequential models (``exclude_seen`` off), while our
suites rank with the user's earlier items masked. To compare like for like, the
peer driver writes the score rows behind its final test evaluation (one row per
test user, in our user and item indices); ``evaluate_score_rows`` wraps them as a
``Scorer`` and runs them through ``ssl4rec.evaluation.evaluate`` once per
convention, so the peer's masked numbers come from the same masking
(``split.seen_before(part)``: train, and valid for test), the same ranking and the
same metrics as ours. One trained peer model thus gives both rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch

from ssl4rec.errors import DataError
from ssl4rec.evaluation.fixed import FixedScorer

if TYPE_CHECKING:

    from ssl4rec.data.interactions import Interactions
    from ssl4rec.data.splits import Split
    from ssl4rec.evaluation.results import EvalResult

__all__ = ["ScoreRows", "evaluate_score_rows", "load_score_rows"]


class ScoreRows(FixedScorer):
    """Fixed score rows per user; satisfies the evaluator's ``Scorer``.

    A user without a row scores ``-inf`` everywhere (recommends nothing, hits
    nothing), so a user the peer did not score counts as a miss, never as a skip.

    Args:
        users: ``(n,)`` distinct user indices, one per row.
        scores: ``(n, width)`` float scores; ``width`` may be below the catalog size
            (items past it, which the peer never saw, score ``-inf``).
        train: the split's training events (catalog size, users, popularity).

    Raises:
        DataError: shapes disagree, a user repeats or is out of range, or a row is
            wider than the catalog.
    """

    name: ClassVar[str] = "peer-scores"
    is_sequential: ClassVar[bool] = False
    """The rows already hold the peer's history-aware scores; nothing is re-read."""

    def __init__(self, users: np.ndarray, scores: np.ndarray, train: Interactions) -> None:
        users = np.asarray(users)
        scores = np.asarray(scores, dtype=np.float32)
        if users.ndim != 1 or scores.ndim != 2 or len(users) != len(scores):
            raise DataError(
                f"peer scores: expected users (n,) and scores (n, items); got "
                f"{users.shape} and {scores.shape}"
            )
        if len(users) and (users.min() < 0 or users.max() >= train.num_users):
            raise DataError(
                f"peer scores: user indices must be in [0, {train.num_users}); got "
                f"[{users.min()}, {users.max()}]"
            )
        if len(np.unique(users)) != len(users):
            raise DataError("peer scores: a user has more than one score row")
        if scores.shape[1] > train.num_items:
            raise DataError(
                f"peer scores: rows have {scores.shape[1]} items; the catalog has {train.num_items}"
            )
        super().__init__(train)
        self._rows = np.full(train.num_users, -1, dtype=np.int64)
        self._rows[users.astype(np.int64)] = np.arange(len(users))
        self._scores = np.full((len(users), train.num_items), -np.inf, dtype=np.float32)
        self._scores[:, : scores.shape[1]] = scores

    def score(self, users: np.ndarray) -> torch.Tensor:
        """The stored rows of ``users`` (``-inf`` rows for users without one)."""
        idx = self._rows[np.asarray(users, dtype=np.int64)]
        out = np.full((len(idx), self.num_items), -np.inf, dtype=np.float32)
        have = idx >= 0
        out[have] = self._scores[idx[have]]
        return torch.from_numpy(out)



def load_score_rows(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(users, scores)`` from a peer driver's ``.npz`` (no pickles).

    Raises:
        DataError: the file lacks ``users`` or ``scores``.
    """
    with np.load(Path(path), allow_pickle=False) as data:
        missing = {"users", "scores"} - set(data.files)
        if missing:
            raise DataError(f"{path}: peer scores need arrays {sorted(missing)}")
        return data["users"], data["scores"]


def evaluate_score_rows(
    users: np.ndarray,
    scores: np.ndarray,
    split: Split,
    metrics: Sequence[str],
    *,
    part: str = "test",
) -> dict[bool, EvalResult]:
    """Rank the rows with our evaluator under both conventions.

    Returns:
        ``{True: result with split.seen_before(part) masked, False: nothing masked}``.
    """
    from ssl4rec.evaluation.evaluator import evaluate

    scorer = ScoreRows(users, scores, split.train)
    return {
        flag: evaluate(scorer, split, part=part, metrics=list(metrics), exclude_seen=flag)
        for flag in (True, False)
    }
