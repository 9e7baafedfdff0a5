"""The ``privacy`` section of an experiment; importing it imports no torch.

Example::

    privacy: {target_epsilon: 8, delta: null, max_grad_norm: 1.0, accountant: prv}

``target_epsilon: null`` trains without noise but still holds the audit users out,
so a non-private run can be audited the same way (``ssl4rec privacy audit``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ssl4rec.config.base import Checks

__all__ = ["ACCOUNTANTS", "PrivacyConfig", "default_delta"]

ACCOUNTANTS = ("prv", "rdp", "gdp")


@dataclass(frozen=True, kw_only=True)
class PrivacyConfig:
    """User-level differential privacy of one training run (DP-SGD through Opacus).

    The privacy unit is the user: one user's training data is one sample of the
    Poisson-sampled batches, and its clipped gradient is the only way it reaches
    the weights (see ``docs/privacy.md`` for exactly what is protected).
    """

    target_epsilon: float | None = 8.0
    """ε the whole run may spend; ``null`` = no noise (a non-private run that still
    holds out the audit users)."""
    delta: float | None = None
    """δ; ``null`` = 0.1 / number of training users (below 1/n, printed at the start)."""
    max_grad_norm: float = 1.0
    """Per-user gradient clipping bound C (the sensitivity of one step)."""
    accountant: Literal["prv", "rdp", "gdp"] = "prv"
    """Opacus accountant that calibrates the noise and reports the spent ε."""
    prior_epsilon: float | None = None
    """Part of ``target_epsilon`` spent on noisy item counts (DP-Pop's Gaussian
    mechanism) that start the model's output bias at a popularity prior; the rest goes
    to DP-SGD, and the accountant composes both. ``null``: no prior (Mult-VAE and
    Mult-DAE support one)."""
    holdout_users: float = 0.1
    """Share of users held out of training entirely (the audit's non-members)."""
    holdout_seed: int = 0
    """Seed that picks the held-out users."""

    def __post_init__(self) -> None:
        c = Checks("privacy")
        eps = self.target_epsilon
        if eps is not None and not (eps > 0 and math.isfinite(eps)):
            c.fail("target_epsilon", "> 0 and finite (null for a non-private run)", eps)
        if self.delta is not None and not 0 < self.delta < 1:
            c.fail("delta", "in (0, 1)", self.delta, "null picks 0.1 / number of users")
        c.positive("max_grad_norm", self.max_grad_norm)
        prior = self.prior_epsilon
        if prior is not None and not (prior > 0 and (eps is None or prior < eps)):
            c.fail("prior_epsilon", "> 0 and below target_epsilon", prior)
        c.one_of("accountant", self.accountant, ACCOUNTANTS)
        c.in_range("holdout_users", self.holdout_users, 0.0, 0.5, high_open=True)
        c.raise_if_any()

    @property
    def private(self) -> bool:
        """Whether the run adds noise (``target_epsilon`` is set)."""
        return self.target_epsilon is not None


def default_delta(num_users: int) -> float:
    """δ below 1/n: ``0.1 / num_users`` (a user-level guarantee for n users)."""
    return 0.1 / max(num_users, 1)
