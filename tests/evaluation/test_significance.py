"""Paired significance tests between two EvalResults."""

from __future__ import annotations

import numpy as np

import pytest

from ssl4rec.errors import ConfigError, DataError
from ssl4rec.evaluation import EvalResult, paired_test


def _result(users: np.ndarray, values: np.ndarray, name: str = "ndcg@10") -> EvalResult:
    return EvalResult(
        metrics={name: float(np.mean(values))},
        per_user={name: np.asarray(values, dtype=np.float64)},
        users=np.asarray(users),
        num_users=len(users),
    )


def test_identical_results_give_p_one() -> None:
    values = np.random.default_rng(0).random(50)
    a = _result(np.arange(50), values)
    out = paired_test(a, a, "ndcg@10")
    assert out.wilcoxon_p == 1.0 and out.t_p == 1.0
    assert out.mean_diff == 0.0 and out.ci_low == 0.0 and out.ci_high == 0.0
    assert out.num_users == 50


def test_clearly_different_results_give_small_p() -> None:
    rng = np.random.default_rng(1)
    base = rng.random(200) * 0.5
    a = _result(np.arange(200), base)
    b = _result(np.arange(200), base + 0.1 + 0.01 * rng.standard_normal(200))
    out = paired_test(a, b, "NDCG@10")
    assert out.wilcoxon_p < 1e-10 and out.t_p < 1e-10
    assert out.ci_low < out.mean_diff < out.ci_high
    assert 0.09 < out.ci_low and out.ci_high < 0.11
    assert out.metric == "ndcg@10"


def test_users_are_aligned_by_index() -> None:
    # b lists the same users in reverse order; values follow their users
    values = np.array([0.1, 0.4, 0.2, 0.9, 0.3])
    a = _result(np.arange(5), values)
    b = _result(np.arange(5)[::-1], values[::-1])
    out = paired_test(a, b, "ndcg@10")
    assert out.mean_diff == 0.0 and out.wilcoxon_p == 1.0


def test_hand_checked_mean_and_interval() -> None:
    # differences b - a = [1, 2, 3]: mean 2, sd 1, t(0.975, 2) = 4.302653
    # CI = 2 ± 4.302653 * 1 / sqrt(3) = 2 ± 2.484138
    a = _result(np.arange(3), np.zeros(3))
    b = _result(np.arange(3), np.array([1.0, 2.0, 3.0]))
    out = paired_test(a, b, "ndcg@10")
    assert out.mean_diff == pytest.approx(2.0)
    assert out.ci_low == pytest.approx(2 - 2.484138, abs=1e-6)
    assert out.ci_high == pytest.approx(2 + 2.484138, abs=1e-6)
    # exact Wilcoxon with n = 3 all positive: two-sided p = 2 / 2**3 = 0.25
    assert out.wilcoxon_p == pytest.approx(0.25)


def test_mismatched_users_fail_with_counts() -> None:
    a = _result(np.arange(10), np.zeros(10))
    b = _result(np.arange(2, 13), np.zeros(11))
    with pytest.raises(DataError, match=r"10 in a, 11 in b \(2 only in a, 3 only in b\)"):
        paired_test(a, b, "ndcg@10")


def test_metric_without_per_user_values_fails() -> None:
    a = _result(np.arange(3), np.zeros(3))
    with pytest.raises(ConfigError, match="no per-user values for 'recall@10'"):
        paired_test(a, a, "recall@10")
    with pytest.raises(ConfigError, match="unknown metric"):
        paired_test(a, a, "nope@10")
