"""ItemKNN: item-based collaborative filtering with shrunk cosine similarity.

sim(i, j) = |U_i ∩ U_j| / (‖x_i‖ ‖x_j‖ + shrink), keeping the ``num_neighbors``
most similar items per item; score(u, j) = Σ_{i ∈ history(u)} sim(i, j).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from typing_extensions import override

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.base import Recommender, histories_to_csr
from ssl4rec.models.configs.item_knn import ItemKNNConfig

__all__ = ["ItemKNN", "ItemKNNConfig"]


class ItemKNN(Recommender[ItemKNNConfig]):
    """Item-based k-nearest-neighbour recommender.

    References:
        Sarwar et al. Item-based collaborative filtering recommendation algorithms.
        WWW 2001.
    """

    closed_form = True
    name = "itemknn"
    explanation_method = "margin-occlusion"  # the most faithful here: docs/explanations.md
    config_class = ItemKNNConfig

    def __init__(self, config: ItemKNNConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.similarity: sp.csr_matrix | None = None  # (items, items): row i -> neighbours

    @override
    def solve(self, train: Interactions) -> None:
        x = train.csr().tocsc()  # (users, items)
        xt = x.T.tocsr()  # (items, users)
        norms = np.sqrt(np.asarray(x.power(2).sum(axis=0)).ravel())  # (items,)
        n = x.shape[1]
        k = min(self.config.num_neighbors, max(n - 1, 1))
        rows, cols, vals = [], [], []
        for start in range(0, n, self.config.block_size):
            stop = min(start + self.config.block_size, n)
            co = (xt[start:stop] @ x).toarray()  # (block, items) co-occurrence counts
            sim = co / (norms[start:stop, None] * norms[None, :] + self.config.shrink + 1e-12)
            sim[np.arange(stop - start), np.arange(start, stop)] = 0.0  # no self-similarity
            top = np.argpartition(-sim, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (stop - start, 1))
            top_vals = np.take_along_axis(sim, top, axis=1)
            keep = top_vals > 0
            rows.append(np.repeat(np.arange(start, stop), k)[keep.ravel()])
            cols.append(top.ravel()[keep.ravel()])
            vals.append(top_vals.ravel()[keep.ravel()])
        self.similarity = sp.csr_matrix(
            (np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n, n),
        )

    @override
    def score_history(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        self._check_fitted()
        assert self.similarity is not None
        x = histories_to_csr(histories, self.num_items)
        return torch.from_numpy(np.asarray((x @ self.similarity).toarray(), dtype=np.float32))

    def item_contributions(self, history: np.ndarray, item: int) -> np.ndarray:
        """Similarity of each history item to ``item`` (for explanations)."""
        assert self.similarity is not None
        col = self.similarity[:, item].toarray().ravel()
        return col[np.asarray(history, dtype=np.int64)]

    @override
    def extra_state(self) -> dict[str, torch.Tensor]:
        assert self.similarity is not None
        s = self.similarity
        return {
            "indptr": torch.from_numpy(s.indptr.astype(np.int64)),
            "indices": torch.from_numpy(s.indices.astype(np.int64)),
            "data": torch.from_numpy(s.data.astype(np.float32)),
        }

    @override
    def load_extra_state(self, state: Mapping[str, torch.Tensor]) -> None:
        n = len(state["indptr"]) - 1
        self.similarity = sp.csr_matrix(
            (state["data"].numpy(), state["indices"].numpy(), state["indptr"].numpy()), shape=(n, n)
        )
