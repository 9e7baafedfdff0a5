"""Shared adapter for user-vector autoencoders (Mult-VAE, Mult-DAE, CDAE, RecVAE, CFGAN).

They all train on shuffled batches of binary user rows and score a user, known or
new, from an interaction vector (fold-in): no retraining is needed for a new user.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import torch
from typing_extensions import override

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.base import C, Recommender, histories_to_csr
from ssl4rec.models.nn.rows import dense_rows, user_row_batches
from ssl4rec.models.nn.sparse_input import sparse_rows

__all__ = ["AutoencoderRecommender"]


class AutoencoderRecommender(Recommender[C]):
    """Base for models whose input is a user's binary item vector.

    Subclasses implement ``reconstruct(x, users)`` (eval-mode scores for rows ``x``)
    plus the usual ``build``/``modules``/``training_step``. Batches are
    ``(users (b,), rows (b, num_items))``, rows dense or, with the config's
    ``sparse_input``, ``torch.sparse_csr`` (``ssl4rec.models.nn.sparse_input``);
    ``users`` is only used by models with a user node (CDAE).
    """

    score_batch_size: int = 1024

    def __init__(self, config: C | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._steps_per_epoch = 1
        self._step = 0

    # ------------------------------------------------------------------ training
    def _count_steps(self, data: Interactions) -> None:
        """Optimizer steps per epoch pass (for annealing schedules that count steps)."""
        batch_size = self.gradient_config.batch_size
        self._steps_per_epoch = max(1, math.ceil(len(data.active_users) / batch_size))

    @override
    def batches(self, train: Interactions, generator: torch.Generator) -> Iterable[Any]:
        batch_size = self.gradient_config.batch_size
        return user_row_batches(
            train.csr(), train.active_users, batch_size, generator, sparse=self.sparse_input
        )

    @property
    def sparse_input(self) -> bool:
        """Whether user rows reach the network as sparse tensors (config ``sparse_input``)."""
        return bool(getattr(self.config, "sparse_input", False))

    grad_mode: Literal["loop", "ghost"] = "ghost"
    """DP-SGD: Opacus's ghost clipping clips each user's gradient of these MLPs without
    materialising it (the model's ``user_losses`` gives the per-user terms)."""

    def private_batch(
        self, train: Interactions, users: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """DP-SGD batch of sampled ``users``: one row (the user's item vector) each."""
        rows = sparse_rows if self.sparse_input else dense_rows
        return users, rows(train.csr(), users.numpy())

    @override
    def on_epoch_start(self, epoch: int) -> None:
        # a pure function of the epoch, so a resumed run anneals the same way
        self._step = epoch * self._steps_per_epoch

    @property
    def device(self) -> torch.device:
        """Where the model's parameters live (CPU before fitting)."""
        for module in self.modules().values():
            for param in module.parameters():
                return param.device
        return torch.device("cpu")

    # ------------------------------------------------------------------ scoring
    def reconstruct(self, x: torch.Tensor, users: torch.Tensor | None) -> torch.Tensor:
        """Scores ``(b, num_items)`` for binary rows ``x`` ``(b, num_items)``.

        ``users`` holds training user indices, or ``None`` for new users (fold-in).
        """
        raise NotImplementedError

    @override
    def score_history(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        self._check_fitted()
        matrix = histories_to_csr(histories, self.num_items)
        return self._score_rows(matrix, None)

    @override
    def score(self, users: np.ndarray) -> torch.Tensor:
        self._check_fitted()
        assert self.history is not None
        users = np.asarray(users, dtype=np.int64)
        return self._score_rows(self.history.csr(users), torch.from_numpy(users))

    def _score_rows(self, matrix: Any, users: torch.Tensor | None) -> torch.Tensor:
        device = self.device
        rows = sparse_rows if self.sparse_input else dense_rows
        out = []
        with torch.no_grad():
            for start in range(0, matrix.shape[0], self.score_batch_size):
                stop = min(start + self.score_batch_size, matrix.shape[0])
                x = rows(matrix, np.arange(start, stop), device)  # (b, num_items)
                u = users[start:stop].to(device) if users is not None else None
                out.append(self.reconstruct(x, u).float())
        if not out:
            return torch.zeros((0, self.num_items), dtype=torch.float32, device=device)
        return torch.cat(out)
