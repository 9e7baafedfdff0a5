"""Paired significance tests between two evaluations of the same users."""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ssl4rec.errors import ConfigError, DataError
from ssl4rec.evaluation.metrics import parse_metric
from ssl4rec.evaluation.results import EvalResult

__all__ = ["PairedTestResult", "paired_test"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairedTestResult:
    """Paired comparison of one metric between results ``a`` and ``b``.

    Differences are ``b - a`` per user, so a positive ``mean_diff`` means ``b``
    scores higher.
    """

    metric: str
    num_users: int
    mean_a: float
    mean_b: float
    mean_diff: float
    """Mean of ``b - a`` over users."""
    ci_low: float
    """Lower end of the 95% t-interval of the mean difference."""
    ci_high: float
    wilcoxon_statistic: float
    wilcoxon_p: float
    """Two-sided Wilcoxon signed-rank p-value (zeros dropped; 1.0 if all are zero)."""
    t_statistic: float
    t_p: float
    """Two-sided paired t-test p-value (1.0 if all differences are zero)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values."""
        return {k: (v if isinstance(v, str) else float(v)) for k, v in asdict(self).items()}


def _aligned(result: EvalResult, key: str, label: str) -> tuple[np.ndarray, np.ndarray]:
    if key not in result.per_user:
        raise ConfigError(
            f"paired_test(): result {label} has no per-user values for {key!r}; "
            f"available: {sorted(result.per_user)}"
        )
    users = np.asarray(result.users, dtype=np.int64)
    order = np.argsort(users, kind="stable")
    return users[order], np.asarray(result.per_user[key], dtype=np.float64)[order]


def paired_test(a: EvalResult, b: EvalResult, metric: str) -> PairedTestResult:
    """Wilcoxon signed-rank and paired t-test of ``metric`` between ``a`` and ``b``.

    Users are aligned by index, so the two results may list them in any order.

    Args:
        a: baseline result.
        b: compared result.
        metric: metric name, e.g. ``"ndcg@10"``; must have per-user values.

    Returns:
        ``PairedTestResult`` (differences are ``b - a``).

    Raises:
        ConfigError: unknown metric, or one without per-user values.
        DataError: the two results cover different users, or fewer than 2.
    """
    from scipy import stats

    key = str(parse_metric(metric))
    users_a, va = _aligned(a, key, "a")
    users_b, vb = _aligned(b, key, "b")
    if len(users_a) != len(users_b) or not np.array_equal(users_a, users_b):
        only_a = np.setdiff1d(users_a, users_b).size
        only_b = np.setdiff1d(users_b, users_a).size
        raise DataError(
            f"paired_test(): the results cover different users: {len(users_a)} in a, "
            f"{len(users_b)} in b ({only_a} only in a, {only_b} only in b)"
        )
    n = len(users_a)
    if n < 2:
        raise DataError(f"paired_test(): needs at least 2 users; got {n}")
    diff = vb - va
    mean_diff = float(diff.mean())
    sd = float(diff.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    if np.all(diff == 0):
        w_stat, w_p, t_stat, t_p = 0.0, 1.0, 0.0, 1.0
    else:
        w = stats.wilcoxon(vb, va, zero_method="wilcox")
        w_stat, w_p = float(w.statistic), float(w.pvalue)
        if sd == 0:  # constant non-zero difference: t is infinite
            t_stat, t_p = math.copysign(math.inf, mean_diff), 0.0
        else:
            t = stats.ttest_rel(vb, va)
            t_stat, t_p = float(t.statistic), float(t.pvalue)
    result = PairedTestResult(
        metric=key,
        num_users=n,
        mean_a=float(va.mean()),
        mean_b=float(vb.mean()),
        mean_diff=mean_diff,
        ci_low=mean_diff - half,
        ci_high=mean_diff + half,
        wilcoxon_statistic=w_stat,
        wilcoxon_p=w_p,
        t_statistic=t_stat,
        t_p=t_p,
    )
    logger.info(
        "paired test: metric=%s users=%d diff=%.4f wilcoxon_p=%.3g t_p=%.3g",
        key,
        n,
        mean_diff,
        w_p,
        t_p,
    )
    return result
