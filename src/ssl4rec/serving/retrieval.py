"""Top-k retrieval: exact selection over full score rows, and item-vector indexes.

Models that only expose ``score_history`` produce a full score row per request;
``top_k_rows`` selects from it exactly (the shared ``evaluation.ranking.top_k``).
Models that factorize their scores as ``query · item`` (they provide
``item_vectors()`` and ``query_vectors(histories)``) can be served from an index
over the item vectors instead: exact inner products for small catalogs, a faiss
HNSW graph for large ones (``build_index``). Item vectors also serve similar-item
queries (cosine).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch

from ssl4rec.errors import ConfigError
from ssl4rec.evaluation.ranking import top_k

__all__ = [
    "ExactIndex",
    "FaissIndex",
    "VectorIndex",
    "build_index",
    "top_k_rows",
]

logger = logging.getLogger(__name__)


def top_k_rows(
    scores: np.ndarray, k: int, exclude: Sequence[np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` per row, best first, skipping excluded item indices.

    Args:
        scores: float array ``(n, num_items)``; modified in place where excluded.
        k: items per row (capped at the number of items).
        exclude: per row, item indices to leave out.

    Returns:
        ``(indices, values)``, each ``(n, k)``; rows with fewer than ``k`` allowed
        items end with ``-inf`` values.
    """
    rows = torch.from_numpy(np.asarray(scores, dtype=np.float32))  # shares memory
    if exclude is not None:
        for row, items in enumerate(exclude):
            if len(items):
                rows[row, torch.as_tensor(np.asarray(items, dtype=np.int64))] = -torch.inf
    values, indices = top_k(rows, k)
    return indices.numpy(), values.numpy()


class VectorIndex(Protocol):
    """Maximum inner product search over item vectors."""

    kind: str
    """``"exact"`` or a faiss index description; reported by the service."""

    def search(
        self, queries: np.ndarray, k: int, exclude: Sequence[np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items ``(indices, scores)``, each ``(n, k)``, for ``(n, d)`` queries."""
        ...


class ExactIndex:
    """Inner products with every item, then exact top-k (numpy).

    Args:
        vectors: ``(num_items, d)`` item vectors.
    """

    kind = "exact"

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def search(
        self, queries: np.ndarray, k: int, exclude: Sequence[np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items ``(indices, scores)``, each ``(n, k)``, for ``(n, d)`` queries."""
        scores = np.asarray(queries, dtype=np.float32) @ self.vectors.T  # (n, num_items)
        return top_k_rows(scores, k, exclude)


class FaissIndex:
    """Approximate inner-product search with a faiss HNSW graph.

    Excluded items are filtered after search; the index is asked for ``k`` plus
    the number of exclusions so that ``k`` allowed items remain.

    Args:
        vectors: ``(num_items, d)`` item vectors.
        neighbors: HNSW graph degree (``M``).
        ef_search: candidate list size at query time (recall vs speed).
    """

    def __init__(self, vectors: np.ndarray, *, neighbors: int = 32, ef_search: int = 128) -> None:
        try:
            import faiss
        except ImportError as err:
            raise ImportError(
                "faiss retrieval needs faiss-cpu; pip install 'ssl4rec[serve]'"
            ) from err
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.num_items, dim = vectors.shape
        self.index: Any = faiss.IndexHNSWFlat(dim, neighbors, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = max(ef_search, 40)
        self.index.add(vectors)
        self.index.hnsw.efSearch = ef_search
        self.kind = f"faiss-hnsw{neighbors}"

    def search(
        self, queries: np.ndarray, k: int, exclude: Sequence[np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items ``(indices, scores)``, each ``(n, k)``; ``-1`` pads short rows."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        n = len(queries)
        k = min(k, self.num_items)
        extra = max((len(e) for e in exclude), default=0) if exclude is not None else 0
        fetch = min(k + extra, self.num_items)
        vals, idx = self.index.search(queries, fetch)  # (n, fetch); -1 where none
        out_idx = np.full((n, k), -1, dtype=np.int64)
        out_val = np.full((n, k), -np.inf, dtype=np.float32)
        for row in range(n):
            banned = set(exclude[row].tolist()) if exclude is not None else set()
            keep = [j for j in range(fetch) if idx[row, j] >= 0 and idx[row, j] not in banned]
            keep = keep[:k]
            out_idx[row, : len(keep)] = idx[row, keep]
            out_val[row, : len(keep)] = vals[row, keep]
        return out_idx, out_val


def build_index(
    vectors: np.ndarray, *, backend: str = "auto", faiss_min_items: int = 100_000
) -> VectorIndex:
    """An index over item vectors: exact below ``faiss_min_items`` items, else faiss.

    Args:
        vectors: ``(num_items, d)`` item vectors.
        backend: ``"auto"``, ``"exact"`` or ``"faiss"``.
        faiss_min_items: catalog size from which ``auto`` picks faiss.

    Raises:
        ConfigError: an unknown backend.
    """
    if backend not in ("auto", "exact", "faiss"):
        raise ConfigError(
            f"ServeSettings.retrieval must be one of ['auto', 'exact', 'faiss']; got {backend!r}"
        )
    use_faiss = backend == "faiss" or (backend == "auto" and len(vectors) >= faiss_min_items)
    index: VectorIndex = FaissIndex(vectors) if use_faiss else ExactIndex(vectors)
    logger.info("item index built: kind=%s items=%d dim=%d", index.kind, *np.shape(vectors))
    return index
