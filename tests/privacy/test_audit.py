"""Membership-inference audit: AUC, bootstrap interval, attacks on a memorising model."""

from __future__ import annotations

import numpy as np

from ssl4rec.models.dp_pop import DPPop
from ssl4rec.models.ease import EASE
from ssl4rec.models.pop import Pop
from ssl4rec.privacy.audit import auc, audit_membership, bootstrap_auc
from ssl4rec.privacy.config import PrivacyConfig
from ssl4rec.privacy.holdout import hold_out_users
from ssl4rec.testing.synthetic import block_split


def test_auc_is_the_probability_a_member_outscores_a_non_member() -> None:
    assert auc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert auc(np.array([1.0, 2.0]), np.array([3.0, 4.0])) == 0.0
    assert auc(np.array([1.0, 3.0]), np.array([2.0])) == 0.5
    assert auc(np.array([1.0]), np.array([1.0])) == 0.5  # ties count half


def test_bootstrap_interval_brackets_the_auc_and_is_seeded() -> None:
    rng = np.random.default_rng(0)
    members, nonmembers = rng.normal(0.5, 1, 300), rng.normal(0, 1, 100)
    lo, hi = bootstrap_auc(members, nonmembers, rounds=300, seed=1)
    assert lo < auc(members, nonmembers) < hi and hi - lo < 0.2
    assert (lo, hi) == bootstrap_auc(members, nonmembers, rounds=300, seed=1)


def test_holdout_removes_users_from_every_part() -> None:
    split = block_split(num_users=100)
    kept, nonmembers = hold_out_users(split, 0.1, seed=3)
    held = set(nonmembers.active_users)
    assert len(held) == 10
    for part in (kept.train, kept.valid, kept.test):
        assert not held & set(part.active_users)
    again, _ = hold_out_users(split, 0.1, seed=3)
    assert np.array_equal(again.train.users, kept.train.users)


def test_a_memorising_model_leaks_and_strong_noise_hides_members() -> None:
    split = block_split(num_users=100, num_items=400, density=0.3)
    split, nonmembers = hold_out_users(split, 0.2, seed=0)
    memoriser = EASE(l2_reg=1.0).fit(split.train)
    leak = audit_membership(memoriser, split.train, nonmembers, rounds=200)
    assert leak["members"] == 80 and leak["nonmembers"] == 20
    for attack in ("loss_threshold", "calibrated"):
        assert leak[attack]["ci95"][0] > 0.9
    exact_counts = audit_membership(Pop().fit(split.train), split.train, nonmembers, rounds=200)
    assert exact_counts["calibrated"]["ci95"][0] > 0.8  # exact counts reveal their users
    noisy = DPPop(seed=0).fit(split.train, privacy=PrivacyConfig(target_epsilon=0.5))
    hidden = audit_membership(noisy, split.train, nonmembers, rounds=200)
    for attack in ("loss_threshold", "calibrated"):
        lo, hi = hidden[attack]["ci95"]
        assert lo < 0.5 < hi
