"""DP-Pop: most-popular items from counts released with user-level differential privacy.

The private baseline (the floor a DP model must beat): closed-form models such as
EASE and ItemKNN cannot be trained privately, Pop can once its counts are noisy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from typing_extensions import override

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.configs.dp_pop import DPPopConfig
from ssl4rec.models.pop import CountRanker
from ssl4rec.privacy.config import PrivacyConfig, default_delta
from ssl4rec.privacy.mechanisms import noisy_counts

__all__ = ["DPPop", "DPPopConfig"]


class DPPop(CountRanker[DPPopConfig]):
    """Ranks items by noisy, per-user normalised counts (``ssl4rec.privacy.mechanisms``).

    Without an experiment ``privacy`` section it uses ``PrivacyConfig()``'s defaults
    (ε = 8, δ = 0.1 / users).
    """

    name = "dp-pop"
    config_class = DPPopConfig

    @override
    def solve(self, train: Interactions) -> None:
        self.privacy = self.solve_private(train, PrivacyConfig())

    def solve_private(self, train: Interactions, privacy: PrivacyConfig | None) -> dict[str, Any]:
        """Release the noisy counts under ``privacy``'s (ε, δ); returns the privacy report."""
        privacy = privacy or PrivacyConfig()
        assert privacy.target_epsilon is not None
        users = int((train.user_counts > 0).sum())
        delta = privacy.delta if privacy.delta is not None else default_delta(users)
        counts, report = noisy_counts(
            train.csr(),
            epsilon=privacy.target_epsilon,
            delta=delta,
            mechanism=self.config.mechanism,
            seed=self.config.seed,
        )
        self.counts = torch.from_numpy(counts.astype(np.float32))
        return report
