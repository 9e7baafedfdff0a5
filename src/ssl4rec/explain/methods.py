"""The built-in explanation methods, registered in order of preference.

Exact methods come first, where a model's score is a sum over its history items:

- ``item-weights``: EASE's and ItemKNN's item-item weights (``ItemContributions``);
- ``dot-product``: BPR's fold-in, the mean of the history's item vectors · the
  item's vector (``PooledItemVectors``);

then ``occlusion``, the model-agnostic fallback every model supports (the score an
item loses when a history item is left out) and its contrastive form
``margin-occlusion`` (the lead over the next-ranked item it loses), the default of
the families that declare it (``Recommender.explanation_method``), then the methods
that read a network's
inside: ``attention-rollout`` (sequential Transformers), ``integrated-gradients``
(sequential Transformers, CDAE, CFGAN) and ``gradient-x-input`` (sequential
Transformers and every autoencoder), both through Captum.
Which models a method explains is a typed check (capability Protocols, model base
classes). ``ssl4rec.explain.tokens`` explains a text model's score by the words of
the item's own text.

References:
    Abnar & Zuidema. Quantifying Attention Flow in Transformers. ACL 2020.
    Sundararajan, Taly & Yan. Axiomatic Attribution for Deep Networks. ICML 2017.
    Shrikumar et al. Not Just a Black Box: Learning Important Features Through
    Propagating Activation Differences. 2016 (gradient × input).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import ModuleType
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ssl4rec.explain.base import register
from ssl4rec.models.base import Recommender, histories_to_csr
from ssl4rec.models.capabilities import ItemContributions, PooledItemVectors
from ssl4rec.models.mult_dae import MultDAE
from ssl4rec.models.mult_vae import MultVAE
from ssl4rec.models.nn.autoencoder import AutoencoderRecommender
from ssl4rec.models.nn.sequential import SequentialRecommender
from ssl4rec.models.recvae import RecVAE

__all__ = [
    "MAX_OCCLUDED_ITEMS",
    "MarginOcclusion",
    "AttentionRollout",
    "DotProduct",
    "GradientXInput",
    "IntegratedGradients",
    "ItemWeights",
    "Occlusion",
    "attention_rollout",
]

logger = logging.getLogger(__name__)

MAX_OCCLUDED_ITEMS = 200
"""Occlusion rescores at most this many distinct history items (the most recent)."""

NORMALISED_INPUT: tuple[type[Recommender[Any]], ...] = (MultDAE, MultVAE, RecVAE)
"""Autoencoders that L2-normalise their input row: their score is the same for every
positive multiple of a row and jumps at the empty row, so integrated gradients from
the empty row are not defined (the path integral of ``1/α`` diverges; Captum's
quadrature returns gradient × input times an arbitrary constant, summing to 0)."""


def _shares(history: np.ndarray) -> np.ndarray:
    """``1 / count`` per position: repeated positions of one item share its weight."""
    _, inverse, counts = np.unique(history, return_inverse=True, return_counts=True)
    return 1.0 / counts[inverse]


def _item_array(items: Sequence[int]) -> np.ndarray:
    return np.asarray(items, dtype=np.int64).reshape(-1)


def _unsupported(method: str, model: Recommender[Any]) -> TypeError:
    return TypeError(f"explanation method {method!r} does not support {type(model).__name__}")


class ItemWeights:
    """Exact weights of item-based models: EASE's B entries, ItemKNN's similarities."""

    name: ClassVar[str] = "item-weights"
    description: ClassVar[str] = (
        "exact: the item-item weight each history item adds to the score (EASE's B entry, "
        "ItemKNN's similarity); positions of a repeated item share its weight"
    )

    def supports(self, model: Recommender[Any]) -> bool:
        """Models with the ``ItemContributions`` capability."""
        return isinstance(model, ItemContributions)

    def weights(
        self, model: Recommender[Any], history: np.ndarray, items: Sequence[int]
    ) -> np.ndarray:
        """Float64 ``(len(items), len(history))``; each row sums to the item's score."""
        if not isinstance(model, ItemContributions):
            raise _unsupported(self.name, model)
        history = np.asarray(history, dtype=np.int64)
        out = np.zeros((len(_item_array(items)), len(history)))
        if len(history):
            shares = _shares(history)
            for row, item in enumerate(_item_array(items)):
                weights = np.asarray(model.item_contributions(history, int(item)), np.float64)
                out[row] = weights * shares
        return out


class DotProduct:
    """Exact split of a pooled-vector fold-in score (BPR) over the history items."""

    name: ClassVar[str] = "dot-product"
    description: ClassVar[str] = (
        "exact: v_h · v_i / (distinct history items), the share of history item h in the "
        "mean-pooled fold-in score of item i; positions of a repeated item share it"
    )

    def supports(self, model: Recommender[Any]) -> bool:
        """Models with the ``PooledItemVectors`` capability (BPR)."""
        return isinstance(model, PooledItemVectors)

    def weights(
        self, model: Recommender[Any], history: np.ndarray, items: Sequence[int]
    ) -> np.ndarray:
        """Float64 ``(len(items), len(history))``; each row sums to the item's score."""
        if not isinstance(model, PooledItemVectors):
            raise _unsupported(self.name, model)
        history = np.asarray(history, dtype=np.int64)
        targets = _item_array(items)
        if not len(history):
            return np.zeros((len(targets), 0))
        vectors = np.asarray(model.pooled_item_vectors(), dtype=np.float64)  # (n, d)
        distinct = len(np.unique(history))
        dots = vectors[targets] @ vectors[history].T  # (T, len(history))
        return dots * (_shares(history) / distinct)[None, :]


class Occlusion:
    """The score an item loses when a history item is left out (any model)."""

    name: ClassVar[str] = "occlusion"
    description: ClassVar[str] = (
        "model-agnostic: score(history) - score(history without item h) for each distinct "
        f"history item (the last {MAX_OCCLUDED_ITEMS}; older ones get 0); positions of a "
        "repeated item share it. A sequential model reads only its window: leaving out an "
        "item that occurs only before it changes no other item's score, so such items "
        "are not rescored (their weight is exactly 0)"
    )

    def supports(self, model: Recommender[Any]) -> bool:
        """Every model."""
        return isinstance(model, Recommender)

    def weights(
        self, model: Recommender[Any], history: np.ndarray, items: Sequence[int]
    ) -> np.ndarray:
        """Float64 ``(len(items), len(history))`` from one batched ``score_history`` call."""
        history = np.asarray(history, dtype=np.int64)
        targets = _item_array(items)
        out = np.zeros((len(targets), len(history)))
        if not len(history) or not len(targets):
            return out
        reverse = history[::-1]
        _, first = np.unique(reverse, return_index=True)
        recent = reverse[np.sort(first)][:MAX_OCCLUDED_ITEMS]  # distinct, newest first
        if isinstance(model, SequentialRecommender):
            # the window is the history's last items and stays the same without an older
            # item; only that item's own (seen-bias) score would move
            read = history[model.window_positions(len(history)) >= 0]
            keep = np.isin(recent, read) | np.isin(recent, targets)
            recent = recent[keep]
        variants = [history] + [history[history != item] for item in recent]
        with torch.no_grad():
            scores = model.score_history(variants).double().cpu()  # (1 + m, num_items)
        values = self._values(scores, history, targets).numpy()  # (1 + m, T)
        drops = values[0][None, :] - values[1:]  # (m, T)
        for k, item in enumerate(recent):
            at = history == item
            out[:, at] = drops[k][:, None] / int(at.sum())
        return out


    def _values(
        self, scores: torch.Tensor, history: np.ndarray, targets: np.ndarray
    ) -> torch.Tensor:
        """What a variant's scores ``(rows, num_items)`` say of each target: its score."""
        return scores[:, torch.from_numpy(targets)]


class MarginOcclusion(Occlusion):
    """The lead over the items just below it an item loses when a history item is left out.

    A ranking puts an item where it is because it scores above the items after it, so
    what explains its place is what raises it *relative to* the items that could
    overtake it (a contrastive explanation, "why this item rather than those";
    Miller, Explanation in Artificial Intelligence, 2019). The value rescored is the
    item's score minus the mean score of its ``COMPETITORS`` rivals: the candidates
    (items outside the history) ranked just below it on the full history. A history
    item that raises the item and its rivals alike weighs little; one that raises it
    alone weighs much. Same batched rescoring as ``occlusion``.
    """

    name: ClassVar[str] = "margin-occlusion"
    COMPETITORS: ClassVar[int] = 1
    description: ClassVar[str] = (
        "model-agnostic, contrastive: how much the item's lead over the next-ranked "
        "item outside the history falls when history item h is left out; otherwise "
        "as occlusion"
    )

    def _values(
        self, scores: torch.Tensor, history: np.ndarray, targets: np.ndarray
    ) -> torch.Tensor:
        """Each target's score minus the mean score of its rivals, per variant."""
        full = scores[0].clone()
        full[torch.from_numpy(np.unique(history))] = -torch.inf
        order = torch.argsort(full, descending=True, stable=True)
        candidates = int(torch.isfinite(full).sum())
        out = torch.empty(scores.shape[0], len(targets), dtype=scores.dtype)
        for col, target in enumerate(targets.tolist()):
            above = int((full > scores[0, target]).sum())  # the target's place
            after = order[above : candidates]
            rivals = after[after != target][: self.COMPETITORS]
            rival = scores[:, rivals].mean(dim=1) if len(rivals) else 0.0
            out[:, col] = scores[:, target] - rival
        return out


def attention_rollout(attention: np.ndarray) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020) of one window's attention.

    Per block ``A' = 0.5 · mean_heads(A) + 0.5 · I`` (the residual connection),
    rows normalised to 1, then multiplied over the blocks from the first up.

    Args:
        attention: ``(layers, heads, L, L)`` attention weights, rows over keys.

    Returns:
        float64 ``(L, L)``: row ``i`` is how much of query position ``i``'s last
        hidden state flows from each input position; rows sum to 1.
    """
    attention = np.asarray(attention, dtype=np.float64)
    length = attention.shape[-1]
    rollout = np.eye(length)
    for layer in attention:  # (heads, L, L), first block first
        mixed = 0.5 * layer.mean(axis=0) + 0.5 * np.eye(length)  # (L, L)
        mixed /= mixed.sum(axis=1, keepdims=True)
        rollout = mixed @ rollout
    return rollout


class AttentionRollout:
    """Attention flow from the history into the scoring position (sequential Transformers)."""

    name: ClassVar[str] = "attention-rollout"
    description: ClassVar[str] = (
        "attention rollout (Abnar & Zuidema 2020): how much of the query that scores every "
        "item flows from each history position; the same weights for every recommended "
        "item, so they say what the model read, not why one item beat another"
    )

    def supports(self, model: Recommender[Any]) -> bool:
        """Sequential Transformers (SASRec, BERT4Rec, CL4SRec)."""
        return isinstance(model, SequentialRecommender)

    def weights(
        self, model: Recommender[Any], history: np.ndarray, items: Sequence[int]
    ) -> np.ndarray:
        """Float64 ``(len(items), len(history))``, the same row for every item.

        Positions cut off by ``max_seq_len`` get 0.
        """
        if not isinstance(model, SequentialRecommender):
            raise _unsupported(self.name, model)
        history = np.asarray(history, dtype=np.int64)
        row = np.zeros(len(history))
        if len(history):
            rollout = attention_rollout(model.attention_matrices(history))  # (L, L)
            positions = model.window_positions(len(history))
            kept = positions >= 0
            row[kept] = rollout[-1, positions[kept]]
        return np.tile(row, (len(_item_array(items)), 1))


def _captum() -> ModuleType:
    """``captum.attr``, imported on first use (an optional dependency)."""
    try:
        import captum.attr
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "gradient explanations need Captum: pip install 'ssl4rec[explain]'"
        ) from err
    return captum.attr


class _TokenEmbedding(nn.Module):
    """The item-embedding step of a sequential model as a module Captum can hook."""

    def __init__(self, model: SequentialRecommender[Any]) -> None:
        super().__init__()
        self._model = [model]  # a list: the model is no submodule of this wrapper

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` tokens -> ``(B, L, d)`` input vectors."""
        return self._model[0].embed_tokens(tokens)


class _GradientMethod:
    """Shared part of the Captum methods: which models, and mapping inputs to history.

    Sequential models attribute the target item's score to the input vectors of
    the window (the item-embedding output; the baseline is the padding vector at
    every history position, summed over the vector's dimensions); autoencoders
    attribute it to the dense input row (baseline: the empty row) and read the
    history items' columns. Positions of a repeated item share its column's
    attribution; positions cut off by a sequential model's window get 0.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    internal_batch_size: ClassVar[int] = 256

    def supports(self, model: Recommender[Any]) -> bool:
        """Sequential Transformers and autoencoders (Mult-DAE/VAE, CDAE, RecVAE, CFGAN)."""
        return isinstance(model, (SequentialRecommender, AutoencoderRecommender))

    def weights(
        self, model: Recommender[Any], history: np.ndarray, items: Sequence[int]
    ) -> np.ndarray:
        """Float64 ``(len(items), len(history))``, all items attributed in one batch."""
        history = np.asarray(history, dtype=np.int64)
        targets = _item_array(items)
        out = np.zeros((len(targets), len(history)))
        if not len(history) or not len(targets):
            return out
        if isinstance(model, SequentialRecommender):
            tokens = model.history_tokens([history]).to(model.device)  # (1, L)
            embedding = _TokenEmbedding(model)

            def forward(batch: torch.Tensor) -> torch.Tensor:
                return model.score_embedded(batch, embedding(batch))  # (B, num_items)

            inputs = tokens.expand(len(targets), -1)  # (T, L)
            real = (inputs > 0) & (inputs <= model.num_items)
            baselines = torch.where(real, torch.zeros_like(inputs), inputs)  # [MASK] stays
            window = self._sequential(forward, embedding, inputs, baselines, targets)
            positions = model.window_positions(len(history))
            kept = positions >= 0
            out[:, kept] = window.sum(dim=-1).double().cpu().numpy()[:, positions[kept]]
            return out
        if isinstance(model, AutoencoderRecommender):
            row = histories_to_csr([history], model.num_items).toarray()  # (1, n)
            x = torch.from_numpy(row).float().to(model.device).expand(len(targets), -1)

            def reconstruct(batch: torch.Tensor) -> torch.Tensor:
                return model.reconstruct(batch, None)  # (B, num_items)

            columns = self._dense(reconstruct, x, targets).double().cpu().numpy()  # (T, n)
            return columns[:, history] * _shares(history)[None, :]
        raise _unsupported(self.name, model)

    def _sequential(
        self,
        forward: Any,
        embedding: nn.Module,
        inputs: torch.Tensor,
        baselines: torch.Tensor,
        targets: np.ndarray,
    ) -> torch.Tensor:
        """Attributions ``(T, L, d)`` of the targets' scores to the input vectors."""
        raise NotImplementedError

    def _dense(self, forward: Any, x: torch.Tensor, targets: np.ndarray) -> torch.Tensor:
        """Attributions ``(T, n)`` of the targets' scores to the dense input rows."""
        raise NotImplementedError


class IntegratedGradients(_GradientMethod):
    """Integrated gradients (Sundararajan et al. 2017) through Captum."""

    name: ClassVar[str] = "integrated-gradients"
    description: ClassVar[str] = (
        "integrated gradients (Captum): the item's score change from a baseline (padding "
        "vectors for sequential models, the empty row for autoencoders) to the history, "
        "split over the history positions; they sum to that change"
    )
    steps: ClassVar[int] = 50
    """Integration steps (Gauss-Legendre)."""

    def supports(self, model: Recommender[Any]) -> bool:
        """Sequential Transformers, CDAE and CFGAN; not the ``NORMALISED_INPUT`` autoencoders."""
        return super().supports(model) and not isinstance(model, NORMALISED_INPUT)

    def _sequential(
        self,
        forward: Any,
        embedding: nn.Module,
        inputs: torch.Tensor,
        baselines: torch.Tensor,
        targets: np.ndarray,
    ) -> torch.Tensor:
        method = _captum().LayerIntegratedGradients(forward, embedding)
        result: torch.Tensor = method.attribute(
            inputs,
            baselines=baselines,
            target=targets.tolist(),
            n_steps=self.steps,
            internal_batch_size=self.internal_batch_size,
        )
        return result.detach()  # (T, L, d)

    def _dense(self, forward: Any, x: torch.Tensor, targets: np.ndarray) -> torch.Tensor:
        method = _captum().IntegratedGradients(forward)
        result: torch.Tensor = method.attribute(
            x,
            baselines=torch.zeros_like(x),
            target=targets.tolist(),
            n_steps=self.steps,
            internal_batch_size=self.internal_batch_size,
        )
        return result.detach()  # (T, n)


class GradientXInput(_GradientMethod):
    """Gradient × input through Captum: a first-order, one-pass attribution."""

    name: ClassVar[str] = "gradient-x-input"
    description: ClassVar[str] = (
        "gradient × input (Captum): the item's score gradient times the input (history "
        "vectors for sequential models, the history's columns for autoencoders); "
        "one backward pass, exact only for models linear in their input"
    )

    def _sequential(
        self,
        forward: Any,
        embedding: nn.Module,
        inputs: torch.Tensor,
        baselines: torch.Tensor,
        targets: np.ndarray,
    ) -> torch.Tensor:
        method = _captum().LayerGradientXActivation(forward, embedding)
        result: torch.Tensor = method.attribute(inputs, target=targets.tolist())
        return result.detach()  # (T, L, d)

    def _dense(self, forward: Any, x: torch.Tensor, targets: np.ndarray) -> torch.Tensor:
        method = _captum().InputXGradient(forward)
        result: torch.Tensor = method.attribute(x.clone().requires_grad_(), target=targets.tolist())
        return result.detach()  # (T, n)


register(ItemWeights())
register(DotProduct())
register(Occlusion())
register(MarginOcclusion())
register(AttentionRollout())
register(IntegratedGradients())
register(GradientXInput())
