"""EASE: embarrassingly shallow autoencoder (Steck, WWW 2019), closed form.

B = I - P / diag(P) with P = (XᵀX + λI)⁻¹, so diag(B) = 0; scores = X B.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from typing_extensions import override

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.base import Recommender, histories_to_csr
from ssl4rec.models.configs.ease import EASEConfig

__all__ = ["EASE", "EASEConfig"]

logger = logging.getLogger(__name__)


class EASE(Recommender[EASEConfig]):
    """Embarrassingly Shallow Autoencoder.

    References:
        Harald Steck. Embarrassingly Shallow Autoencoders for Sparse Data. WWW 2019.
    """

    closed_form = True
    name = "ease"
    config_class = EASEConfig

    def __init__(self, config: EASEConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.weights: torch.Tensor | None = None  # (num_items, num_items)

    @override
    def solve(self, train: Interactions) -> None:
        x = train.csr()
        gram = (x.T @ x).toarray().astype(np.float64)  # (items, items)
        gram[np.diag_indices_from(gram)] += self.config.l2_reg
        p = np.linalg.inv(gram)
        b = -p / np.diag(p)[None, :]  # column j divided by P_jj
        b[np.diag_indices_from(b)] = 0.0
        self.weights = torch.from_numpy(b.astype(np.float32))

    @override
    def score_history(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        self._check_fitted()
        assert self.weights is not None
        x = histories_to_csr(histories, self.num_items)
        return torch.from_numpy(np.asarray(x @ self.weights.numpy(), dtype=np.float32))

    def item_contributions(self, history: np.ndarray, item: int) -> np.ndarray:
        """Weight each history item adds to ``item``'s score (for explanations)."""
        assert self.weights is not None
        return self.weights.numpy()[np.asarray(history, dtype=np.int64), item]

    @override
    def extra_state(self) -> dict[str, torch.Tensor]:
        assert self.weights is not None
        return {"weights": self.weights}

    @override
    def load_extra_state(self, state: Mapping[str, torch.Tensor]) -> None:
        self.weights = state["weights"].float()
