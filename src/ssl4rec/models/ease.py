"""EASE: embarrassingly shallow autoencoder (Steck, WWW 2019), closed form.

B = I - P / diag(P) with P = (XᵀX + λI)⁻¹, so diag(B) = 0; scores = X B.

Memory grows with the square of the catalog: the Gram matrix, its inverse and B are
dense ``items × items`` float64 arrays (about ``BYTES_PER_ITEM_PAIR × items²`` bytes at
the peak), so 24 GiB hold about 26,000 items. Beyond what the machine has available
``fit`` stops at once with an error that says so (docs/scaling.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from typing_extensions import override

from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import ConfigError
from ssl4rec.models.base import Recommender, histories_to_csr
from ssl4rec.models.configs.ease import EASEConfig

__all__ = ["BYTES_PER_ITEM_PAIR", "EASE", "EASEConfig", "available_memory", "ease_memory"]

BYTES_PER_ITEM_PAIR = 36
"""Peak bytes of ``solve`` per item pair, rounded up from a measurement: a whole process
fitting EASE on 10,000 items peaked at 3,424 MiB, about 33 bytes per pair beyond the
data (the sparse and dense Gram matrices, the float64 inverse and B, the float32 B;
``ssl4rec bench scaling``, docs/scaling.md)."""


def ease_memory(num_items: int) -> int:
    """Bytes EASE needs at its peak for ``num_items`` items (an upper estimate)."""
    return BYTES_PER_ITEM_PAIR * num_items * num_items


def available_memory() -> int | None:
    """Bytes this process may still allocate: MemAvailable, capped by a cgroup limit.

    ``None`` where neither is readable (not Linux).
    """
    found: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if limit.isdigit():
            found.append(int(limit) - used)
    except (OSError, ValueError):
        pass
    return min(found) if found else None


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
        need, free = ease_memory(x.shape[1]), available_memory()
        if free is not None and need > free:
            raise ConfigError(
                f"EASE on {x.shape[1]:,} items needs about {need / 2**30:.1f} GiB "
                f"({BYTES_PER_ITEM_PAIR} bytes × items²: dense item × item matrices); "
                f"{free / 2**30:.1f} GiB are available. Shrink the catalog (data.preprocess "
                f"item_k) or use a model whose memory grows with items × dimensions "
                f"(multvae with sparse_input, sasrec with loss: sampled_ce)"
            )
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
