"""Shared machinery of the graph recommenders (LightGCN, SGL, SimGCL, XSimGCL).

The graph has one node per user and per item; an edge joins a user to each item of
their training history and, with a social file (``data.social``), two users who
trust or befriend each other. Embeddings are propagated over the symmetrically
normalized adjacency ``D^-1/2 A D^-1/2`` kept as a ``torch.sparse`` matrix, so the
cost of a layer is linear in the number of edges: nothing item × item (or user ×
user) is ever made dense.

A model is a ``GraphRecommender`` that chooses how its training views are made:
``propagate_train`` (the embeddings BPR is computed on) and ``contrastive_views``
(the two node views its InfoNCE term contrasts; the term itself, with its weight,
temperature and BPR-only warm-up, is ``contrastive_loss``, shared). Scoring is shared: a known user is the dot product of
the propagated user and item embeddings; a new history (fold-in) is the mean of its
distinct items' propagated embeddings, so the models are ``QueryVectors`` (exactly
factorized), ``ItemVectors`` and ``PooledItemVectors``.

Social variant (any of the four models, with ``data.social``): user-user edges join
the propagation graph, as in the socially-aware graph recommenders, and a user-level
contrastive term pulls a user's embedding from the joint graph towards their
embedding propagated over the social graph alone (against the other users of the
batch). This follows the cross-view self-supervision idea of MHCN (Yu et al.,
"Self-Supervised Multi-Channel Hypergraph Convolutional Network for Social
Recommendation", WWW 2021) and SEPT (Yu et al., "Socially-Aware Self-Supervised
Tri-Training for Recommendation", KDD 2021) in a simpler form: two views (joint graph,
social graph) instead of hypergraph channels or tri-training.

References:
    Xiangnan He, Kuan Deng, Xiang Wang, Yan Li, Yongdong Zhang, Meng Wang.
    LightGCN: Simplifying and Powering Graph Convolution Network for Recommendation.
    SIGIR 2020.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn
from typing_extensions import override

from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import DataError
from ssl4rec.models.base import Recommender
from ssl4rec.models.configs.graph import ContrastiveGraphConfig, GraphConfig
from ssl4rec.models.nn.init import seeded
from ssl4rec.models.nn.losses import bpr_loss
from ssl4rec.models.nn.sampling import pair_batches

__all__ = [
    "GraphEmbeddings",
    "GraphRecommender",
    "graph_info_nce",
    "normalized_adjacency",
    "perturb",
    "propagate",
    "spmm",
]


def normalized_adjacency(
    num_users: int,
    num_items: int,
    users: np.ndarray,
    items: np.ndarray,
    social: np.ndarray | None = None,
    *,
    items_as_nodes: bool = True,
) -> torch.Tensor:
    """``D^-1/2 A D^-1/2`` of the user-item (and user-user) graph, as a sparse tensor.

    Args:
        num_users: user nodes ``0..num_users-1``.
        num_items: item nodes ``num_users..num_users+num_items-1``.
        users: ``(e,)`` user end of each interaction edge.
        items: ``(e,)`` item end of each interaction edge (same length).
        social: ``(s, 2)`` user-user edges (direction ignored), or ``None``.
        items_as_nodes: ``False`` builds the user × user social graph alone
            (``users``/``items`` are then ignored).

    Returns:
        A float32 sparse CSR tensor, ``(n, n)`` with ``n = num_users + num_items`` (or
        ``num_users``), symmetric, duplicates merged, no self-loops from social edges.
        Isolated nodes have empty rows.
    """
    n = num_users + num_items if items_as_nodes else num_users
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    if items_as_nodes:
        u = np.asarray(users, dtype=np.int64)
        i = np.asarray(items, dtype=np.int64) + num_users
        rows += [u, i]
        cols += [i, u]
    if social is not None and len(social):
        a = np.asarray(social[:, 0], dtype=np.int64)
        b = np.asarray(social[:, 1], dtype=np.int64)
        keep = a != b
        rows += [a[keep], b[keep]]
        cols += [b[keep], a[keep]]
    if rows:
        r = np.concatenate(rows)
        c = np.concatenate(cols)
        keys = np.unique(r * n + c)  # merges duplicate edges (and sorts row-major)
        r, c = keys // n, keys % n
    else:
        r = c = np.zeros(0, dtype=np.int64)
    degree = np.bincount(r, minlength=n).astype(np.float64)
    inv_sqrt = np.zeros(n, dtype=np.float64)
    nonzero = degree > 0
    inv_sqrt[nonzero] = degree[nonzero] ** -0.5
    values = (inv_sqrt[r] * inv_sqrt[c]).astype(np.float32)
    crow = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n), out=crow[1:])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(
            torch.from_numpy(crow),
            torch.from_numpy(c.astype(np.int64)),
            torch.from_numpy(values),
            (n, n),
            check_invariants=False,
        )


class _SymmetricSpMM(torch.autograd.Function):
    """``Â x`` for a symmetric sparse ``Â``: the gradient is ``Â g`` (no transpose needed).

    torch's own backward of a sparse product transposes the matrix on every call,
    which costs several times the product itself on CPU. On CPU the product runs in
    scipy.sparse, about 3x faster than torch's CSR kernel on these shapes (measured
    on Ciao's 112k-node graph: 14 ms against 47 ms for ``(n, 64)``).
    """

    @staticmethod
    def forward(ctx: Any, adjacency: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        ctx.adjacency = adjacency
        return _product(adjacency, dense)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, _product(ctx.adjacency, grad)


def _product(adjacency: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    if adjacency.device.type != "cpu" or dense.dtype != torch.float32:
        return adjacency @ dense
    matrix = sp.csr_matrix(
        (
            adjacency.values().numpy(),
            adjacency.col_indices().numpy(),
            adjacency.crow_indices().numpy(),
        ),
        shape=tuple(adjacency.shape),
    )
    return torch.from_numpy(np.ascontiguousarray(matrix @ dense.detach().contiguous().numpy()))


def spmm(adjacency: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``adjacency @ dense`` for a symmetric sparse CSR ``adjacency`` ``(n, n)``, ``dense`` ``(n, d)``."""
    return _SymmetricSpMM.apply(adjacency, dense)


def perturb(embeddings: torch.Tensor, eps: float) -> torch.Tensor:
    """SimGCL's noise: add ``eps`` · a random unit vector in the same orthant as each row.

    ``e + sign(e) ⊙ normalize(u)`` · eps with ``u ~ U(0, 1)^d`` (Yu et al. 2022, eq. 7),
    so the added noise never flips a coordinate's sign and has length ``eps``.
    """
    noise = F.normalize(torch.rand_like(embeddings), dim=1)
    return embeddings + torch.sign(embeddings) * noise * eps


def propagate(
    adjacency: torch.Tensor,
    ego: torch.Tensor,
    num_layers: int,
    *,
    include_ego: bool = True,
    noise_eps: float = 0.0,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Light graph convolution: ``e^(k+1) = Â e^(k)``, no weights, no non-linearity.

    Args:
        adjacency: ``(n, n)`` normalized symmetric sparse adjacency (CSR).
        ego: ``(n, d)`` layer-0 embeddings.
        num_layers: propagation steps K.
        include_ego: average layers 0..K (LightGCN, SGL) or 1..K (SimGCL, XSimGCL).
        noise_eps: SimGCL's noise added after every layer (0: none).

    Returns:
        The layer mean ``(n, d)`` and the list of layer outputs ``e^(1)..e^(K)``.
    """
    layers: list[torch.Tensor] = []
    current = ego
    total = ego if include_ego else None
    for _ in range(num_layers):
        current = spmm(adjacency, current)  # (n, d)
        if noise_eps > 0:
            current = perturb(current, noise_eps)
        layers.append(current)
        total = current if total is None else total + current
    assert total is not None
    return total / (num_layers + int(include_ego)), layers


def graph_info_nce(view1: torch.Tensor, view2: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE between two views of the same nodes, other nodes of the batch as negatives.

    Each row of ``view1`` must pick its own row of ``view2`` by cosine similarity over
    ``temperature`` (the loss of SGL, Wu et al. 2021, eq. 10, with in-batch negatives
    as in SimGCL).

    Args:
        view1: ``(b, d)`` embeddings of b distinct nodes.
        view2: ``(b, d)`` the same nodes in the other view.
        temperature: τ > 0.

    Returns:
        The mean cross-entropy over the b nodes (a scalar).
    """
    z1 = F.normalize(view1, dim=1)
    z2 = F.normalize(view2, dim=1)
    logits = z1 @ z2.T / temperature  # (b, b)
    target = torch.arange(len(z1), device=z1.device)
    return F.cross_entropy(logits, target)


class GraphEmbeddings(nn.Module):
    """Layer-0 embeddings of every node, users first (the only parameters of the graph models).

    One ``(num_users + num_items, d)`` table, so that propagation reads it without a
    copy. Initialised from ``N(0, init_std²)`` (LightGCN's reference PyTorch code uses
    0.1), or with ``init_std=None`` each block like an ``nn.Embedding`` with
    Xavier-uniform (whose scale shrinks with the number of users or items).
    """

    def __init__(
        self, num_users: int, num_items: int, dim: int, init_std: float | None = 0.1
    ) -> None:
        super().__init__()
        self.num_users = num_users
        self.weight = nn.Parameter(torch.empty(num_users + num_items, dim))
        with torch.no_grad():
            if init_std is None:
                nn.init.xavier_uniform_(self.weight[:num_users])
                nn.init.xavier_uniform_(self.weight[num_users:])
            else:
                nn.init.normal_(self.weight, std=init_std)

    def ego(self) -> torch.Tensor:
        """All layer-0 embeddings, users first: ``(num_users + num_items, d)``."""
        return self.weight

    def users(self) -> torch.Tensor:
        """The user block ``(num_users, d)`` (a view)."""
        return self.weight[: self.num_users]


class GraphRecommender(Recommender[Any]):
    """Base of the graph models: graph building, BPR training, social term, scoring.

    Subclasses set ``name``/``config_class`` (a ``GraphConfig``) and may override
    ``propagate_train`` (the embeddings the BPR loss reads), ``contrastive_views``
    (the two views of the shared InfoNCE term; needs a ``ContrastiveGraphConfig``)
    and ``on_epoch_batches`` (per-epoch views). The
    social edges, when given, are ``(s, 2)`` user-index pairs over the training
    data's user vocabulary (``ssl4rec.data.sources.social.load_social_edges``).
    """

    reads_social: ClassVar[bool] = True
    """Accepts ``social=`` edges (``data.social`` in an experiment)."""
    include_ego: ClassVar[bool] = True
    """Whether the layer mean includes layer 0 (LightGCN, SGL) or not (SimGCL, XSimGCL)."""

    def __init__(
        self, config: GraphConfig | None = None, *, social: np.ndarray | None = None, **kwargs: Any
    ) -> None:
        super().__init__(config, **kwargs)
        self.net: GraphEmbeddings | None = None
        self.social: np.ndarray | None = None if social is None else _check_pairs(social)
        self._adjacency: torch.Tensor | None = None
        self._social_adjacency: torch.Tensor | None = None
        self._cache: tuple[tuple[int, ...], torch.Tensor, torch.Tensor] | None = None
        self._epoch = 0

    @property
    def graph_config(self) -> GraphConfig:
        """The config, typed as the shared ``GraphConfig``."""
        assert isinstance(self.config, GraphConfig)
        return self.config

    # ------------------------------------------------------------------ graph
    @override
    def build(self, data: Interactions) -> None:
        if self.social is not None and len(self.social) and self.social.max() >= data.num_users:
            raise DataError(
                f"{type(self).__name__}: social edges name user index {int(self.social.max())} "
                f"but the training data has {data.num_users} users (load them with the "
                f"training data's user vocabulary)"
            )
        with seeded(self.graph_config.seed):
            cfg = self.graph_config
            self.net = GraphEmbeddings(
                data.num_users, data.num_items, cfg.embedding_dim, cfg.init_std
            )
        self._adjacency = None
        self._social_adjacency = None
        self._cache = None

    @override
    def modules(self) -> dict[str, nn.Module]:
        return {"net": self.net} if self.net is not None else {}

    def interaction_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct training (user, item) pairs, row-major: ``(users (e,), items (e,))``."""
        assert self.history is not None
        csr = self.history.csr()
        users = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
        return users, csr.indices.astype(np.int64)

    def graph(
        self, users: np.ndarray | None = None, items: np.ndarray | None = None
    ) -> torch.Tensor:
        """The normalized adjacency on the model's device (of given edges, or all training ones)."""
        assert self.net is not None
        device = self.net.weight.device
        if users is None or items is None:
            if self._adjacency is None or self._adjacency.device != device:
                u, i = self.interaction_edges()
                adj = normalized_adjacency(self.num_users, self.num_items, u, i, self.social)
                self._adjacency = adj.to(device)
            return self._adjacency
        return normalized_adjacency(self.num_users, self.num_items, users, items, self.social).to(
            device
        )

    def social_graph(self) -> torch.Tensor | None:
        """The normalized user × user social adjacency (``None`` without social edges)."""
        if self.social is None or not len(self.social):
            return None
        assert self.net is not None
        device = self.net.weight.device
        if self._social_adjacency is None or self._social_adjacency.device != device:
            adj = normalized_adjacency(
                self.num_users, 0, np.zeros(0), np.zeros(0), self.social, items_as_nodes=False
            )
            self._social_adjacency = adj.to(device)
        return self._social_adjacency

    def split_nodes(self, nodes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Node embeddings ``(U + I, d)`` -> users ``(U, d)``, items ``(I, d)``."""
        return nodes[: self.num_users], nodes[self.num_users :]

    # ------------------------------------------------------------------ training
    @override
    def batches(self, train: Interactions, generator: torch.Generator) -> Iterator[Any]:
        """Shuffled training pairs with one sampled unobserved item each (as BPR)."""
        self.on_epoch_batches(generator)
        assert self.history is not None
        return pair_batches(self.history.csr(), self.graph_config.batch_size, 1, generator)

    @override
    def on_epoch_start(self, epoch: int) -> None:
        """Remember the epoch (0-based): the contrastive term waits for ``ssl_warmup_epochs``."""
        self._epoch = epoch

    def on_epoch_batches(self, generator: torch.Generator) -> None:  # noqa: B027 - optional hook
        """Draw per-epoch randomness (SGL's dropped graphs) from the batch generator."""

    def propagate_train(self) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Embeddings of the training pass: layer mean ``(U + I, d)`` and the layers."""
        assert self.net is not None
        cfg = self.graph_config
        return propagate(self.graph(), self.net.ego(), cfg.num_layers, include_ego=self.include_ego)

    def contrastive_loss(
        self,
        users: torch.Tensor,
        items: torch.Tensor,
        final: torch.Tensor,
        layers: list[torch.Tensor],
    ) -> dict[str, torch.Tensor]:
        """The model's self-supervised term, weighted: ``{"ssl": λ · InfoNCE}`` or none.

        Shared by SGL, SimGCL and XSimGCL: with a ``ContrastiveGraphConfig`` and λ > 0,
        the two views from ``contrastive_views`` are contrasted over the batch's
        distinct users and items (``contrast``). LightGCN has no views.

        Args:
            users: distinct users of the batch.
            items: distinct positive items of the batch.
            final: this step's ``propagate_train`` layer mean ``(U + I, d)``.
            layers: its layers.
        """
        cfg = self.config
        if not isinstance(cfg, ContrastiveGraphConfig) or cfg.ssl_weight == 0:
            return {}
        if self._epoch < cfg.ssl_warmup_epochs:
            return {}
        views = self.contrastive_views(final, layers)
        if views is None:
            return {}
        term = self.contrast(views[0], views[1], users, items, cfg.ssl_temperature)
        return {"ssl": cfg.ssl_weight * term}

    def contrastive_views(
        self, final: torch.Tensor, layers: list[torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The two views ``(U + I, d)`` of every node that the InfoNCE term contrasts.

        Args:
            final: this step's ``propagate_train`` layer mean ``(U + I, d)``.
            layers: its layers.

        Returns:
            ``None`` for no contrastive term (the default, LightGCN).
        """
        return None

    def contrast(
        self,
        view1: torch.Tensor,
        view2: torch.Tensor,
        users: torch.Tensor,
        items: torch.Tensor,
        temperature: float,
    ) -> torch.Tensor:
        """InfoNCE of users plus InfoNCE of items between two node views ``(U + I, d)``.

        Args:
            view1: first view of every node.
            view2: second view of every node.
            users: distinct user indices of the batch.
            items: distinct item indices of the batch.
            temperature: τ.
        """
        nodes = torch.cat([users, items + self.num_users])  # one gather per view
        a, b = view1[nodes], view2[nodes]
        k = len(users)
        return graph_info_nce(a[:k], b[:k], temperature) + graph_info_nce(
            a[k:], b[k:], temperature
        )

    @override
    def training_step(self, batch: Any, phase: str | None = None) -> dict[str, torch.Tensor]:
        assert self.net is not None
        cfg = self.graph_config
        users, pos, neg = batch
        b = len(users)
        # one gather per table: each gather's backward writes a full-size gradient
        nodes = torch.cat([users, pos + self.num_users, neg[:, 0] + self.num_users])  # (3b,)
        final, layers = self.propagate_train()
        u, p, n = final[nodes].split(b)  # (b, d) each
        rank = bpr_loss((u * p).sum(dim=1), (u * n).sum(dim=1))
        reg = self.net.ego()[nodes].pow(2).sum() / (2 * b)
        terms: dict[str, torch.Tensor] = {"bpr": rank}
        loss = rank + cfg.reg_weight * reg
        unique_users = torch.unique(users)
        unique_items = torch.unique(pos)
        user_final = final[: self.num_users]
        for key, value in self.contrastive_loss(unique_users, unique_items, final, layers).items():
            terms[key] = value
            loss = loss + value
        social = self.social_graph()
        if social is not None and cfg.social_weight > 0:
            social_view, _ = propagate(social, self.net.users(), cfg.num_layers)
            term = graph_info_nce(
                user_final[unique_users], social_view[unique_users], cfg.social_temperature
            )
            terms["social_cl"] = cfg.social_weight * term
            loss = loss + terms["social_cl"]
        return {"loss": loss, **{k: v.detach() for k, v in terms.items()}}

    # ------------------------------------------------------------------ scoring
    def final_embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Propagated user ``(U, d)`` and item ``(I, d)`` embeddings, without noise or dropout.

        Cached until the weights change (an optimizer step or a restored checkpoint
        bumps their version counters).
        """
        self._check_fitted()
        assert self.net is not None
        key = (id(self.net.weight), self.net.weight._version)
        if self._cache is None or self._cache[0] != key:
            with torch.no_grad():
                cfg = self.graph_config
                final, _ = propagate(
                    self.graph(), self.net.ego(), cfg.num_layers, include_ego=self.include_ego
                )
                user_final, item_final = self.split_nodes(final)
            self._cache = (key, user_final, item_final)
        return self._cache[1], self._cache[2]

    @override
    def score(self, users: np.ndarray) -> torch.Tensor:
        user_final, item_final = self.final_embeddings()
        idx = torch.as_tensor(np.asarray(users, dtype=np.int64), device=user_final.device)
        return user_final[idx] @ item_final.T  # (n, num_items)

    def _queries(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        _, item_final = self.final_embeddings()
        queries = torch.zeros((len(histories), item_final.shape[1]), device=item_final.device)
        for row, hist in enumerate(histories):
            if len(hist):
                idx = torch.as_tensor(np.unique(hist).astype(np.int64), device=item_final.device)
                queries[row] = item_final[idx].mean(dim=0)
        return queries

    @override
    def score_history(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        _, item_final = self.final_embeddings()
        return self._queries(histories) @ item_final.T

    # ------------------------------------------------------------------ capabilities
    def item_vectors(self) -> np.ndarray:
        """Propagated item embeddings ``(num_items, d)`` (the ``ItemVectors`` capability)."""
        return self.final_embeddings()[1].float().cpu().numpy()

    @property
    def factorized(self) -> bool:
        """``score_history`` is exactly ``query_vectors @ item_vectors().T``."""
        return True

    def query_vectors(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """Mean propagated embedding of each history's distinct items ``(n, d)``."""
        return self._queries(histories).float().cpu().numpy()

    def pooled_item_vectors(self) -> np.ndarray:
        """The vectors a fold-in score pools and scores (``PooledItemVectors``)."""
        return self.item_vectors()

    # ------------------------------------------------------------------ persistence
    @override
    def extra_state(self) -> dict[str, torch.Tensor]:
        if self.social is None:
            return {}
        return {"social_edges": torch.from_numpy(self.social.astype(np.int64))}

    @override
    def load_extra_state(self, state: Any) -> None:
        if "social_edges" in state:
            self.social = _check_pairs(state["social_edges"].cpu().numpy())
            self._adjacency = None
            self._social_adjacency = None
            self._cache = None


def _check_pairs(pairs: Any) -> np.ndarray:
    """``(s, 2)`` non-negative int user-index pairs, or a ``DataError``."""
    arr = np.asarray(pairs)
    if (
        arr.ndim != 2
        or arr.shape[1] != 2
        or (arr.size and not np.issubdtype(arr.dtype, np.integer))
    ):
        raise DataError(
            f"social edges must be an (s, 2) integer array of user indices; got shape "
            f"{arr.shape} dtype {arr.dtype}"
        )
    if arr.size and arr.min() < 0:
        raise DataError(f"social edges must be user indices ≥ 0; got {int(arr.min())}")
    return arr.astype(np.int64)
