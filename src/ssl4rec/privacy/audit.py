"""Membership-inference audit: can an attacker tell training users from held-out ones?

The run holds a seeded share of users out of training (``holdout``); the audit
scores each user's own training-part items with the released model and reports,
per attack, the AUC of telling members from non-members with a stratified
bootstrap 95% interval. AUC 0.5 means the model leaks nothing these attacks see.

Attacks:
- ``loss_threshold``: the user's mean log-likelihood of its own items under the
  model (the training objective: item given the user's whole set for set models,
  next item given the prefix for sequential ones); members score higher
  (Yeom, Giacomelli, Fredrikson, Jha. Privacy Risk in Machine Learning:
  Analyzing the Connection to Overfitting. CSF 2018).
- ``calibrated``: the same log-likelihood minus each item's log-likelihood under a
  reference model trained without the user: item popularity counted over the
  training users other than this one (add-one smoothed), so a user of popular
  items is not mistaken for a member (difficulty calibration with a reference
  model that excludes the target:
  Watson, Guo, Cormode, Sablayrolles. On the Importance of Difficulty Calibration
  in Membership Inference Attacks. ICLR 2022).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from scipy.stats import rankdata

from ssl4rec.data.interactions import Interactions

__all__ = ["audit_membership", "auc", "bootstrap_auc"]


def auc(members: np.ndarray, nonmembers: np.ndarray) -> float:
    """Probability that a random member outscores a random non-member (ties count ½)."""
    n1, n0 = len(members), len(nonmembers)
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([members, nonmembers]))
    return float((ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def bootstrap_auc(
    members: np.ndarray, nonmembers: np.ndarray, *, rounds: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """95% percentile interval of the AUC, resampling members and non-members apart."""
    rng = np.random.default_rng(seed)
    values = [
        auc(rng.choice(members, len(members)), rng.choice(nonmembers, len(nonmembers)))
        for _ in range(rounds)
    ]
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def audit_membership(
    model: Any,
    members: Interactions,
    nonmembers: Interactions,
    *,
    max_users: int = 1000,
    max_positions: int = 20,
    rounds: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Run both attacks against ``model`` (a fitted recommender).

    Args:
        model: has ``score_history`` and ``is_sequential``.
        members: the training events (members' own items).
        nonmembers: the held-out users' training-part events.
        max_users: users of each group scored (a seeded sample when more).
        max_positions: for sequential models, the last positions of a sequence scored.
        rounds: bootstrap resamples.
        seed: seeds the user sample and the bootstrap.

    Returns:
        ``{attack: {"auc", "ci95": [lo, hi]}, "members": n, "nonmembers": n, ...}``.
    """
    rng = np.random.default_rng(seed)
    counts = members.csr().sum(axis=0).A1.astype(np.float64)  # training users per item
    sequential = bool(getattr(model, "is_sequential", False))
    groups = {}
    for name, data in (("members", members), ("nonmembers", nonmembers)):
        seqs = [data.sequences()[u] for u in data.active_users]
        seqs = [s for s in seqs if len(s) >= 2]
        if len(seqs) > max_users:
            seqs = [seqs[i] for i in np.sort(rng.choice(len(seqs), max_users, replace=False))]
        groups[name] = _signals(
            model, seqs, counts, sequential, max_positions, member=name == "members"
        )
    out: dict[str, Any] = {}
    for k, attack in enumerate(("loss_threshold", "calibrated")):
        m, n = groups["members"][:, k], groups["nonmembers"][:, k]
        lo, hi = bootstrap_auc(m, n, rounds=rounds, seed=seed)
        out[attack] = {"auc": round(auc(m, n), 4), "ci95": [round(lo, 4), round(hi, 4)]}
    out["members"] = len(groups["members"])
    out["nonmembers"] = len(groups["nonmembers"])
    out["signal"] = "next-item log-likelihood" if sequential else "item log-likelihood"
    return out


def _signals(
    model: Any,
    seqs: Sequence[np.ndarray],
    counts: np.ndarray,
    sequential: bool,
    max_positions: int,
    *,
    member: bool,
) -> np.ndarray:
    """``(users, 2)``: mean log-likelihood of own items, and minus the reference's.

    The reference of a member is the popularity counted without that member
    (``counts`` minus its own items); a non-member was never counted.
    """
    rows: list[np.ndarray] = []  # histories scored
    targets: list[int] = []
    owner: list[int] = []
    for u, seq in enumerate(seqs):
        seq = np.asarray(seq, dtype=np.int64)
        if sequential:
            for t in range(max(1, len(seq) - max_positions), len(seq)):
                rows.append(seq[:t])
                targets.append(int(seq[t]))
                owner.append(u)
        else:
            rows.append(seq)
            targets.extend(int(i) for i in seq)
            owner.extend([u] * len(seq))
    loglik = np.zeros(len(targets))
    pos = 0
    chunk = 256
    with torch.no_grad():
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            logp = torch.log_softmax(model.score_history(part).float(), dim=1).cpu().numpy()
            for r, hist in enumerate(part):
                n = 1 if sequential else len(hist)
                wanted = targets[pos : pos + n]
                loglik[pos : pos + n] = logp[r, wanted]
                pos += n
    owners = np.asarray(owner)
    items = np.asarray(targets)
    total = counts.sum() + len(counts)  # add-one smoothing over the catalog
    if member:  # every target is one of the user's own items: leave the user out
        sizes = np.array([len(np.unique(s)) for s in seqs], dtype=np.float64)
        reference = np.log(counts[items] / (total - sizes[owners]))  # (c - 1 + 1) / ...
    else:
        reference = np.log((counts[items] + 1.0) / total)
    calibrated = loglik - reference
    size = np.bincount(owners, minlength=len(seqs)).clip(min=1)
    return np.stack(
        [
            np.bincount(owners, weights=loglik, minlength=len(seqs)) / size,
            np.bincount(owners, weights=calibrated, minlength=len(seqs)) / size,
        ],
        axis=1,
    )
