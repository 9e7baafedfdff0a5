"""Noisy item counts with user-level differential privacy (DP-Pop's mechanism).

Each user's contribution is normalised so that adding or removing one user
changes the count vector by at most 1: in L2 norm for the Gaussian mechanism
(weight ``1/sqrt(|I_u|)`` on each of the user's items) and in L1 norm for the
Laplace mechanism (weight ``1/|I_u|``). The Gaussian noise multiplier for the
target (ε, δ) comes from Opacus's accountant (one release, sample rate 1).

References:
    Cynthia Dwork, Frank McSherry, Kobbi Nissim, Adam Smith. Calibrating Noise to
    Sensitivity in Private Data Analysis. TCC 2006.
    Cynthia Dwork, Aaron Roth. The Algorithmic Foundations of Differential Privacy,
    section 3.5 (the Gaussian mechanism). 2014.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

__all__ = ["noisy_counts"]


def noisy_counts(
    matrix: sp.csr_matrix,
    *,
    epsilon: float,
    delta: float,
    mechanism: Literal["gaussian", "laplace"],
    seed: int,
    accountant: str = "rdp",
) -> tuple[np.ndarray, dict[str, Any]]:
    """Item counts of the binary user × item ``matrix`` plus calibrated noise.

    Returns:
        The noisy counts ``(num_items,)`` (float64) and the privacy report
        (``epsilon``, ``delta``, ``noise_multiplier``, ``sample_rate``, ``steps``,
        ``unit``, ``mechanism``).
    """
    rows = (matrix > 0).astype(np.float64).tocsr()
    per_user = np.asarray(rows.sum(axis=1)).ravel()
    contributors = int((per_user > 0).sum())
    per_user[per_user == 0] = 1.0
    power = 0.5 if mechanism == "gaussian" else 1.0
    weights = sp.diags(1.0 / per_user**power) @ rows  # each user: unit L2 (or L1) norm
    counts = np.asarray(weights.sum(axis=0)).ravel()
    rng = np.random.default_rng(seed)
    if mechanism == "gaussian":
        from opacus.accountants.utils import get_noise_multiplier

        sigma = float(
            get_noise_multiplier(
                target_epsilon=epsilon,
                target_delta=delta,
                sample_rate=1.0,
                steps=1,
                accountant=accountant,
                epsilon_tolerance=0.001,
            )
        )
        noise = rng.normal(0.0, sigma, size=counts.shape)
        spent_delta = delta
    else:
        sigma = 1.0 / epsilon  # Laplace scale b for L1 sensitivity 1
        noise = rng.laplace(0.0, sigma, size=counts.shape)
        spent_delta = 0.0
    report = {
        "epsilon": epsilon,
        "target_epsilon": epsilon,
        "delta": spent_delta,
        "noise_multiplier": round(sigma, 6),
        "sample_rate": 1.0,
        "steps": 1,
        "unit": "user",
        "mechanism": mechanism,
        "accountant": accountant if mechanism == "gaussian" else None,
        "users": contributors,
    }
    return counts + noise, report
