"""Shared base of the Transformer sequential recommenders (SASRec, BERT4Rec, CL4SRec).

It owns what the three models have in common: the encoder and the item
representation (ID, ID + text adaptor, text only) that ``SequentialConfig``
describes (it lives in ``ssl4rec.models.configs.sequential`` and is re-exported
here), item text vectors given as an array or by an ``ItemTextSource`` (models
never encode text themselves), training windows over whole sequences (a loss at
every position, not one sample per prefix), the learned ``seen_bias`` offset of
history items, scoring of arbitrary histories, and what explanations read (the
window's tokens, differentiable scores from input vectors, attention maps, item
vectors from new text; the methods themselves live in ``ssl4rec.explain``).
Each model file adds its objective.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from torch import nn
from typing_extensions import override

from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import ConfigError, DataError
from ssl4rec.models.base import Recommender
from ssl4rec.models.configs.sequential import LENGTH_POOL, SequentialConfig
from ssl4rec.models.nn.init import seeded
from ssl4rec.models.nn.item_encoder import ItemEncoder
from ssl4rec.models.nn.item_text import ItemTextSource, resolve_item_text, saved_text_shape
from ssl4rec.models.nn.losses import (
    gbce_beta,
    gbce_loss,
    sampled_softmax_loss,
    supervised_info_nce,
)
from ssl4rec.models.nn.transformer import TransformerEncoder, left_pad

__all__ = [
    "ItemTextSource",
    "SequenceNet",
    "SequentialConfig",
    "SequentialRecommender",
    "score_queries",
    "seen_entries",
    "seen_mask",
    "sequence_windows",
]

logger = logging.getLogger(__name__)

C = TypeVar("C", bound="SequentialConfig")


SEEN_BIAS_SCALE = 100.0
"""Fixed multiplier of the ``seen_bias`` parameter (see ``SequenceNet``)."""


def score_queries(hidden: torch.Tensor, temperature: float) -> torch.Tensor:
    """``hidden`` ``(..., d)`` as query vectors (``SequentialConfig.score_temperature``).

    Unchanged when ``temperature`` is 0, else unit-length and divided by it.
    """
    if not temperature:
        return hidden
    return nn.functional.normalize(hidden, dim=-1) / temperature


class SequenceNet(nn.Module):
    """Item encoder + Transformer: tokens ``(B, L)`` -> hidden states ``(B, L, d)``.

    With ``seen_bias`` it also holds the learned score offset of items already in
    the input window: ``seen_offset() = SEEN_BIAS_SCALE * seen_bias`` (a scalar
    parameter starting at 0). The fixed scale gives that one scalar a step size
    matching the logits' range (tens) under the shared Adam learning rate; without
    it the offset moves about 1e-3 per step and stays near 0 for dozens of epochs.
    """

    def __init__(
        self,
        items: ItemEncoder,
        encoder: TransformerEncoder,
        *,
        seen_bias: bool = False,
        score_temperature: float = 0.0,
    ) -> None:
        super().__init__()
        self.items = items
        self.encoder = encoder
        self.seen_bias = nn.Parameter(torch.zeros(())) if seen_bias else None
        self.score_temperature = score_temperature

    def queries(self, hidden: torch.Tensor) -> torch.Tensor:
        """The query vectors ``(..., d)`` of hidden states ``(..., d)``.

        With ``score_temperature`` τ > 0 they are the unit-length states divided by
        τ, so that query · ``keys(table)`` is the cosine similarity over τ.
        """
        return score_queries(hidden, self.score_temperature)

    def keys(self, table: torch.Tensor) -> torch.Tensor:
        """The vectors ``(n, d)`` that ``queries`` score items by: the table, unit-length under τ."""
        if not self.score_temperature:
            return table
        return nn.functional.normalize(table, dim=-1)

    def seen_offset(self) -> torch.Tensor:
        """The score offset of items already in the window (requires ``seen_bias``)."""
        assert self.seen_bias is not None
        return SEEN_BIAS_SCALE * self.seen_bias

    def forward(
        self,
        tokens: torch.Tensor,
        table: torch.Tensor | None = None,
        *,
        return_attention: bool = False,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Hidden states ``(B, L, d)`` (and per-block attention if asked)."""
        vectors = self.items.embed(tokens, table)  # (B, L, d)
        return self.encoder(vectors, tokens, return_attention=return_attention)


def sequence_windows(sequences: Sequence[np.ndarray], length: int, step: int) -> list[np.ndarray]:
    """Cut each sequence into windows of at most ``length`` items, from the end back.

    Window ends are ``n, n - step, n - 2 step, ...``; each window holds up to
    ``length`` items before its end. With ``step = length - 1`` consecutive windows
    share one item, so every next-item pair occurs once (SASRec); with
    ``step = length`` they are disjoint (BERT4Rec). Windows shorter than 2 are dropped.

    Returns:
        int64 arrays, oldest first within each window.
    """
    out: list[np.ndarray] = []
    for seq in sequences:
        end = len(seq)
        while end >= 2:
            out.append(np.asarray(seq[max(0, end - length) : end], dtype=np.int64))
            if end <= length:
                break
            end -= step
    return out


class SequentialRecommender(Recommender[C]):
    """Base of Transformer recommenders that score an ordered history.

    Args:
        config: the model config (or keyword arguments for it).
        item_text: item text vectors, needed to fit when ``item_repr`` is not
            ``"id"``: a ``(num_items, t)`` array (row i for item index i) or an
            ``ItemTextSource`` called with the training data in ``build``. A loaded
            model needs none: its weights hold the vectors.
    """

    is_sequential = True
    causal: ClassVar[bool] = True
    """Causal attention (next-item models) or bidirectional (cloze models)."""
    append_mask: ClassVar[bool] = False
    """Append a ``[MASK]`` token to scored histories and read its hidden state."""

    def __init__(
        self,
        config: C | None = None,
        *,
        item_text: np.ndarray | torch.Tensor | ItemTextSource | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(config, **kwargs)
        self.item_text = item_text
        self.net: SequenceNet | None = None
        self._restored_text_shape: tuple[int, int] | None = None
        self._restoring = False  # loading saved weights: no text needed to start ID vectors
        self._windows_cache: tuple[int, int, list[np.ndarray]] | None = None
        self._sampling: tuple[torch.Tensor, torch.Tensor] | None = None

    # ------------------------------------------------------------------ building
    @override
    def build(self, data: Interactions) -> None:
        cfg = self.config
        n = data.num_items
        reads_text = cfg.item_repr != "id" or (cfg.id_init == "text" and not self._restoring)
        text = self._text_vectors(data) if reads_text else None
        trained = torch.from_numpy(data.item_counts > 0) if len(data) else None
        with seeded(cfg.seed):
            items = ItemEncoder(
                n,
                cfg.embedding_dim,
                cfg.item_repr,
                text=text if cfg.item_repr != "id" else None,
                trained=trained,
                num_experts=cfg.num_experts,
                adaptor_dropout=cfg.adaptor_dropout,
                id_dropout=cfg.id_dropout,
                id_init=text if cfg.id_init == "text" and not self._restoring else None,
            )
            encoder = TransformerEncoder(
                cfg.embedding_dim,
                cfg.num_layers,
                cfg.num_heads,
                cfg.ff_dim,
                cfg.max_seq_len,
                cfg.dropout,
                causal=self.causal,
                filter_mix=cfg.filter_mix,
                filter_keep=cfg.filter_keep,
                block=cfg.block,
            )
            self.net = SequenceNet(
                items,
                encoder,
                seen_bias=cfg.seen_bias,
                score_temperature=cfg.score_temperature,
            )
        self._windows_cache = None
        self._sampling = _negative_distribution(data.item_counts, cfg.negative_sampling)

    def _text_vectors(self, data: Interactions) -> torch.Tensor:
        """``(num_items, t)`` text vectors: given, from the source, or restored from a save."""
        owner = type(self).__name__
        return resolve_item_text(
            owner if self.config.item_repr != "id" else f"{owner} (id_init 'text')",
            self.config.item_repr,
            self.item_text,
            data,
            self._restored_text_shape,
        )

    def _restore(self, directory: Path) -> None:
        if self.config.item_repr != "id" and self.item_text is None:
            self._restored_text_shape = saved_text_shape(directory, "net.items.text")
        self._restoring = True
        try:
            super()._restore(directory)
        finally:
            self._restoring = False

    @override
    def modules(self) -> dict[str, nn.Module]:
        return {"net": self.net} if self.net is not None else {}

    @property
    def device(self) -> torch.device:
        """Where the network's parameters live (the model must be built)."""
        assert self.net is not None
        return self.net.items.mask_token.device

    @property
    def mask_token(self) -> int:
        """Token id of ``[MASK]`` (items are ``1..num_items``)."""
        assert self.net is not None
        return self.net.items.num_items + 1

    # ------------------------------------------------------------------ training helpers
    def windows(self, train: Interactions, length: int, step: int) -> list[np.ndarray]:
        """Training windows of ``train``'s user sequences (cached per data object)."""
        key = (id(train), length)
        if self._windows_cache is None or self._windows_cache[:2] != key:
            wins = sequence_windows(train.sequences(), length, step)
            self._windows_cache = (key[0], key[1], wins)
            logger.info("training windows: users=%d windows=%d", train.num_users, len(wins))
        return self._windows_cache[2]

    def window_chunks(
        self, wins: Sequence[np.ndarray], generator: torch.Generator
    ) -> list[tuple[list[np.ndarray], torch.Tensor | None]]:
        """One epoch of ``wins`` in shuffled batches of ``batch_size`` windows.

        With ``group_by_length`` each batch holds windows of similar length: the
        shuffled order is cut into pools of ``LENGTH_POOL`` batches, each pool sorted
        by length (stable) and cut into batches, and the batches are shuffled again.
        The loss is a mean over a batch's positions, so a batch of short windows would
        weigh each of its positions more than a mixed batch does; each batch comes with
        its loss scale, its positions over the epoch's mean positions per batch (for
        ``next_item_loss``), which gives every position the weight it has in mixed
        batches. Without grouping the scale is ``None``.
        """
        size = self.config.batch_size
        order = torch.randperm(len(wins), generator=generator).tolist()
        if not self.config.group_by_length:
            return [([wins[i] for i in order[s : s + size]], None) for s in range(0, len(order), size)]
        pool = size * LENGTH_POOL
        order = [
            i
            for start in range(0, len(order), pool)
            for i in sorted(order[start : start + pool], key=lambda i: len(wins[i]))
        ]
        starts = list(range(0, len(order), size))
        shuffled = torch.randperm(len(starts), generator=generator).tolist()
        chunks = [[wins[i] for i in order[starts[j] : starts[j] + size]] for j in shuffled]
        # positions that predict: every item of a window but the first (next-item
        # models), or every item, masked at random (BERT4Rec: in proportion)
        skip = int(self.causal)
        mean = sum(len(w) - skip for w in wins) / len(chunks)
        return [
            (chunk, torch.tensor(sum(len(w) - skip for w in chunk) / mean)) for chunk in chunks
        ]

    def batch_width(self, lengths: Sequence[int]) -> int:
        """Token width of a training batch whose windows need ``lengths`` positions.

        ``max_seq_len``, or with ``pad_to_longest`` the longest of ``lengths`` (the
        encoder's positions are right-aligned, so trimming left padding changes nothing
        at the real positions).
        """
        length = self.config.max_seq_len
        if not self.config.pad_to_longest or not len(lengths):
            return length
        return max(1, min(length, max(lengths)))

    def sample_negatives(self, generator: torch.Generator) -> torch.Tensor:
        """``num_negatives`` item indices for one batch of ``loss="sampled_ce"``, int64 ``(K,)``.

        Drawn with replacement, uniformly over the items with training events or in
        proportion to their events (``negative_sampling``); every position of the
        batch shares them.
        """
        assert self._sampling is not None, "build() the model first"
        candidates, log_q = self._sampling
        k = self.config.num_negatives
        if self.config.negative_sampling == "uniform":
            pick = torch.randint(len(candidates), (k,), generator=generator)
        else:
            pick = torch.multinomial(log_q[candidates].exp(), k, True, generator=generator)
        return candidates[pick]

    def add_negatives(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> None:
        """Put a batch's negatives under ``"negatives"`` when the loss samples them.

        ``sampled_ce``: ``(K,)`` items shared by the whole batch. ``gbce``: ``(B, L, K)``
        uniform items per position, as in gSASRec: binary cross-entropy does not
        normalise over the candidates, and negatives shared by the positions of a
        batch (or of a window) all push the same items and the hidden states the same
        way; on ml-100k training then ranked below Pop.
        """
        if self.config.loss == "sampled_ce":
            batch["negatives"] = self.sample_negatives(generator)
        elif self.config.loss == "gbce":
            assert self._sampling is not None, "build() the model first"
            candidates = self._sampling[0]
            shape = (*batch["tokens"].shape, self.config.num_negatives)
            batch["negatives"] = candidates[torch.randint(len(candidates), shape, generator=generator)]

    def next_item_loss(
        self,
        hidden: torch.Tensor,
        targets: torch.Tensor,
        table: torch.Tensor,
        tokens: torch.Tensor,
        negatives: torch.Tensor | None = None,
        scale: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Mean loss at every position with a target: full or sampled softmax, or gBCE.

        Without ``negatives`` the softmax runs over all items with training events
        (items without are never targets and would only be pushed down as
        negatives), with ``label_smoothing``. With ``negatives`` (``loss="sampled_ce"``)
        it runs over the target and those items (``sampled_softmax_loss``, with the
        logQ correction under popularity sampling); ``loss="gbce"`` scores the same
        items with gSASRec's ``gbce_loss``. With ``id_dropout`` the scored vectors are
        ``ItemEncoder.drop_ids(table)``; with ``seen_bias`` the logits of items a
        position has seen get the offset.

        Args:
            hidden: ``(B, L, d)`` hidden states.
            targets: int64 ``(B, L)`` target tokens (0 = no target at that position).
            table: ``(n, d)`` item vectors.
            tokens: int64 ``(B, L)`` input tokens (what each position has seen).
            negatives: optional int64 ``(K,)`` item indices shared by the batch
                (``sample_negatives``).
            scale: optional factor of the mean (the batch's from ``window_chunks``).
        """
        loss = self._position_loss(hidden, targets, table, tokens, negatives)
        return loss if scale is None else loss * scale

    def batch_loss(
        self, hidden: torch.Tensor, table: torch.Tensor, batch: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """``next_item_loss`` of a training batch from ``batches``."""
        return self.next_item_loss(
            hidden,
            batch["targets"],
            table,
            batch["tokens"],
            batch.get("negatives"),
            batch.get("scale"),
        )

    def _position_loss(
        self,
        hidden: torch.Tensor,
        targets: torch.Tensor,
        table: torch.Tensor,
        tokens: torch.Tensor,
        negatives: torch.Tensor | None,
    ) -> torch.Tensor:
        assert self.net is not None
        table = self.net.keys(self.net.items.drop_ids(table))  # (n, d)
        hidden = self.net.queries(hidden)  # (B, L, d)
        keep = targets > 0  # (B, L)
        h = hidden[keep]  # (N, d)
        target = targets[keep] - 1  # (N,) item indices
        if negatives is not None and negatives.ndim == 3:
            return self._gbce_loss(hidden, target, table, tokens, keep, negatives)
        if negatives is not None:
            return self._sampled_loss(h, target, table, tokens, keep, negatives)
        trained = self.net.items.trained
        columns = None  # item index -> logit column, when some items are left out
        if not bool(trained.all()):
            # Select the candidate rows of the table before the product: indexing the
            # (N, n) logits instead costs a copy forward and a scatter backward.
            candidates = trained.nonzero().squeeze(1)  # (n',)
            columns = torch.full_like(trained, -1, dtype=torch.long)  # (n,)
            columns[candidates] = torch.arange(len(candidates), device=columns.device)
            table, target = table[candidates], columns[target]  # (n', d), (N,)
        logits = h @ table.T  # (N, n')
        logits = self._add_seen_offset_to_logits(logits, tokens, keep, columns)
        return nn.functional.cross_entropy(
            logits, target, label_smoothing=self.config.label_smoothing
        )

    def _sampled_loss(
        self,
        h: torch.Tensor,
        target: torch.Tensor,
        table: torch.Tensor,
        tokens: torch.Tensor,
        keep: torch.Tensor,
        negatives: torch.Tensor,
    ) -> torch.Tensor:
        """Sampled softmax of ``h`` ``(N, d)`` over its target and ``negatives`` ``(K,)``."""
        assert self.net is not None and self._sampling is not None
        pos = (h * table[target]).sum(-1)  # (N,)
        neg = h @ table[negatives].T  # (N, K)
        pos = self.add_seen_offset(pos, tokens, keep, target)  # (N,)
        if self.net.seen_bias is not None:
            # the offset per distinct negative, then spread over its repeats
            unique, inverse = torch.unique(negatives, return_inverse=True)  # (U,), (K,)
            columns = torch.full(
                (self.net.items.num_items,), -1, dtype=torch.long, device=neg.device
            )
            columns[unique] = torch.arange(len(unique), device=neg.device)
            rows, positions = keep.nonzero(as_tuple=True)  # (N,), (N,)
            visible = self.visible_positions(tokens[rows], positions)  # (N, L)
            seen = seen_mask(tokens[rows], visible, self.net.items.num_items, columns)  # (N, U)
            neg = neg + self.net.seen_offset() * seen[:, inverse]  # (N, K)
        log_q = None
        if self.config.negative_sampling == "popularity":
            log_q = self._sampling[1].to(h.device)
        return sampled_softmax_loss(pos, neg, target, negatives, log_q)

    def _gbce_loss(
        self,
        hidden: torch.Tensor,
        target: torch.Tensor,
        table: torch.Tensor,
        tokens: torch.Tensor,
        keep: torch.Tensor,
        negatives: torch.Tensor,
    ) -> torch.Tensor:
        """The gBCE loss at the ``keep`` positions of ``hidden`` ``(B, L, d)``; negatives ``(B, L, K)``."""
        assert self.net is not None and self._sampling is not None
        h = hidden[keep]  # (N, d)
        negatives = negatives[keep]  # (N, K)
        pos = (h * table[target]).sum(-1)  # (N,)
        pos = self.add_seen_offset(pos, tokens, keep, target)  # (N,)
        neg = torch.einsum("nd,nkd->nk", h, table[negatives])  # (N, K)
        if self.net.seen_bias is not None:
            rows, positions = keep.nonzero(as_tuple=True)  # (N,), (N,)
            inputs = tokens[rows]  # (N, L)
            visible = self.visible_positions(inputs, positions)  # (N, L)
            seen = ((inputs[:, None, :] == negatives[:, :, None] + 1) & visible[:, None, :]).any(2)
            neg = neg + self.net.seen_offset() * seen.to(neg.dtype)  # (N, K)
        beta = gbce_beta(self.config.num_negatives, len(self._sampling[0]), self.config.gbce_t)
        return gbce_loss(pos, neg, target, negatives, beta)

    def contrastive_loss(
        self,
        batch: dict[str, torch.Tensor],
        hidden: torch.Tensor,
        table: torch.Tensor,
    ) -> torch.Tensor | None:
        """DuoRec-style contrastive term of a training batch, or ``None`` when it is off.

        Draws up to ``contrastive_anchors`` predicting positions (``targets > 0``),
        encodes the batch a second time (another dropout draw: DuoRec's unsupervised
        view) and asks each position's two hidden states to find each other, and the
        positions with the same target (DuoRec's supervised positives), among all
        the drawn positions (``supervised_info_nce``).

        Args:
            batch: the training batch (``tokens`` and ``targets`` ``(B, L)``).
            hidden: ``(B, L, d)`` hidden states of the first pass.
            table: ``(n, d)`` item vectors of this step.

        References:
            Ruihong Qiu, Zi Huang, Hongzhi Yin, Zijian Wang. Contrastive Learning for
            Representation Degeneration Problem in Sequential Recommendation
            (DuoRec). WSDM 2022.
        """
        cfg = self.config
        if cfg.contrastive_weight == 0:
            return None
        assert self.net is not None
        rows, positions = (batch["targets"] > 0).nonzero(as_tuple=True)  # (N,), (N,)
        if len(rows) > cfg.contrastive_anchors:
            pick = torch.randperm(len(rows), device=rows.device)[: cfg.contrastive_anchors]
            rows, positions = rows[pick], positions[pick]  # (P,), (P,)
        second, _ = self.net(batch["tokens"], table)  # (B, L, d), another dropout draw
        z1, z2 = hidden[rows, positions], second[rows, positions]  # (P, d), (P, d)
        labels = batch["targets"][rows, positions]  # (P,)
        return supervised_info_nce(z1, z2, labels, cfg.contrastive_temperature)

    def with_contrastive(
        self,
        losses: dict[str, torch.Tensor],
        batch: dict[str, torch.Tensor],
        hidden: torch.Tensor,
        table: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """``losses`` with ``contrastive_weight`` × ``contrastive_loss`` added to ``"loss"``.

        Unchanged when the term is off; otherwise the term is also reported as ``"duo"``.
        """
        duo = self.contrastive_loss(batch, hidden, table)
        if duo is None:
            return losses
        return {**losses, "loss": losses["loss"] + self.config.contrastive_weight * duo, "duo": duo}

    @override
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam with L2 ``weight_decay`` (the base's), or AdamW with ``adamw``.

        AdamW decays the parameters with at least two dimensions (weight matrices,
        item, position and expert embeddings) and none of the vectors and scalars
        (biases, LayerNorm, ``seen_bias``, the ``[MASK]`` and unknown-item vectors,
        the filters' β).
        """
        cfg = self.config
        if not cfg.adamw:
            return super().configure_optimizers()
        params = [p for m in self.modules().values() for p in m.parameters() if p.requires_grad]
        groups = [
            {"params": [p for p in params if p.ndim >= 2], "weight_decay": cfg.weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
        ]
        return {"model": torch.optim.AdamW(groups, lr=cfg.learning_rate)}

    # ------------------------------------------------------------------ seen items (seen_bias)
    def add_seen_offset(
        self,
        scores: torch.Tensor,
        tokens: torch.Tensor,
        where: torch.Tensor,
        items: torch.Tensor,
    ) -> torch.Tensor:
        """Scores of (position, item) pairs, plus the ``seen_bias`` offset for seen items.

        An item is seen at a position when it is among the inputs that position reads.

        Args:
            scores: ``(N,)`` one score per predicting position.
            tokens: int64 ``(B, L)`` input tokens.
            where: bool ``(B, L)``, the ``N`` predicting positions (``hidden[where]`` order).
            items: int64 ``(N,)`` item indices scored at those positions.

        Returns:
            ``(N,)`` scores; ``scores`` itself without ``seen_bias``.
        """
        assert self.net is not None
        if self.net.seen_bias is None:
            return scores
        rows, positions = where.nonzero(as_tuple=True)  # (N,), (N,)
        inputs = tokens[rows]  # (N, L)
        visible = self.visible_positions(inputs, positions)  # (N, L)
        seen = ((inputs == items[:, None] + 1) & visible).any(dim=1)  # (N,)
        return scores + self.net.seen_offset() * seen.to(scores.dtype)

    def _add_seen_offset_to_logits(
        self,
        logits: torch.Tensor,
        tokens: torch.Tensor,
        where: torch.Tensor,
        columns: torch.Tensor | None,
    ) -> torch.Tensor:
        """``logits`` ``(N, C)`` plus the ``seen_bias`` offset at every seen item.

        ``logits`` has a row per ``where`` position and a column per candidate item
        (see ``seen_entries``).
        """
        assert self.net is not None
        if self.net.seen_bias is None:
            return logits
        rows, positions = where.nonzero(as_tuple=True)  # (N,), (N,)
        visible = self.visible_positions(tokens[rows], positions)  # (N, L)
        at = seen_entries(tokens[rows], visible, self.net.items.num_items, columns)
        # add the offset at the seen cells only: a dense (N, C) mask would cost a fill,
        # a product and a sum over all logits, forward and backward
        offset = self.net.seen_offset().expand(at[0].shape)  # (k,)
        return logits.index_put_(at, offset, accumulate=True)

    def visible_positions(self, tokens: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Which input positions a prediction at ``positions`` may read, ``(N, L)``.

        Causal models read the items up to the position, bidirectional ones every item
        of the window (padding and ``[MASK]`` never count).

        Args:
            tokens: int64 ``(N, L)`` input tokens, one row per prediction.
            positions: int64 ``(N,)`` the position of each prediction.
        """
        assert self.net is not None
        real = (tokens > 0) & (tokens <= self.net.items.num_items)
        if not self.causal:
            return real
        steps = torch.arange(tokens.shape[1], device=tokens.device)  # (L,)
        return real & (steps[None, :] <= positions[:, None])

    # ------------------------------------------------------------------ scoring
    def _tokens(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        append = self.mask_token if self.append_mask else None
        return left_pad(histories, self.config.max_seq_len, append=append)

    def item_vectors(self) -> np.ndarray:
        """Item vectors ``(num_items, d)``; a history's score for item i is query · item_i.

        Serving builds its retrieval index (exact, or faiss for large catalogs) and
        similar-item search on these.
        """
        self._check_fitted()
        assert self.net is not None
        with torch.no_grad():
            return self.net.keys(self.net.items.table()).float().cpu().numpy()

    def query_vectors(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """The last position's query vector (``SequenceNet.queries``) per history, ``(len(histories), d)``.

        Histories longer than ``max_seq_len`` keep their most recent items; empty
        or short ones are left-padded and still give finite vectors.
        """
        self._check_fitted()
        assert self.net is not None
        out = []
        with torch.no_grad():
            table = self.net.items.table()  # (n, d)
            for start in range(0, len(histories), 1024):
                tokens = self._tokens(histories[start : start + 1024]).to(self.device)
                hidden, _ = self.net(tokens, table)  # (B, L, d)
                out.append(self.net.queries(hidden[:, -1]).float().cpu())  # (B, d)
        if not out:
            return np.zeros((0, self.net.items.table().shape[1]), dtype=np.float32)
        return torch.cat(out).numpy()

    @property
    def factorized(self) -> bool:
        """Whether scores are exactly query · item (no ``seen_bias`` on history items)."""
        return self.net is None or self.net.seen_bias is None

    def score_history(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        """Scores ``(len(histories), num_items)``: query vectors · item vectors.

        With ``seen_bias``, the learned offset is added for every item of the history
        (the whole history, not only the window the Transformer reads).
        """
        queries = torch.from_numpy(self.query_vectors(histories))  # (n, d)
        scores = queries @ torch.from_numpy(self.item_vectors()).T  # (n, num_items)
        if not self.factorized and len(histories):
            assert self.net is not None
            lengths = [len(h) for h in histories]
            rows = torch.from_numpy(np.repeat(np.arange(len(histories)), lengths))
            cols = torch.from_numpy(
                np.concatenate([np.asarray(h, dtype=np.int64) for h in histories])
            )
            seen = torch.zeros_like(scores)
            seen[rows, cols] = 1.0  # (n, num_items)
            scores = scores + float(self.net.seen_offset().detach()) * seen
        return scores

    # ------------------------------------------------------------------ explanations
    def history_tokens(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        """The tokens the network reads for item-index histories, int64 ``(B, L)``.

        Left-padded windows of the last items (token = item index + 1, 0 = padding),
        with ``[MASK]`` at the last position for models that append it.
        """
        return self._tokens(histories)

    def window_positions(self, length: int) -> np.ndarray:
        """Where each of a history's ``length`` positions sits in the window, int64 ``(length,)``.

        ``-1`` marks positions cut off by ``max_seq_len`` (the model does not read them).
        The scoring position is always the window's last, ``max_seq_len - 1``.
        """
        room = self.config.max_seq_len - int(self.append_mask)
        kept = min(length, room)
        out = np.full(length, -1, dtype=np.int64)
        if kept:
            out[length - kept :] = np.arange(room - kept, room)
        return out

    def embed_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """Input vectors ``(B, L, d)`` of tokens ``(B, L)`` (padding gives zero vectors)."""
        assert self.net is not None
        return self.net.items.embed(tokens)

    def score_embedded(self, tokens: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
        """Differentiable scores ``(B, num_items)`` of token windows from given input vectors.

        ``vectors`` ``(B, L, d)`` stand in for ``embed_tokens(tokens)``; ``tokens``
        still decides the attention masks. The result is query · item vectors,
        without the ``seen_bias`` offset (a constant of the history, not of its
        vectors): gradient explanations read how the score moves with the inputs.
        """
        self._check_fitted()
        assert self.net is not None
        hidden, _ = self.net.encoder(vectors, tokens)  # (B, L, d)
        queries = self.net.queries(hidden[:, -1])  # (B, d)
        return queries @ self.net.keys(self.net.items.table()).T  # (B, num_items)

    def text_item_vectors(self, item: int, text_vectors: np.ndarray) -> np.ndarray:
        """Vectors ``(k, d)`` of ``item`` with its text vector replaced by each of ``text_vectors``.

        The item's ID part (``item_repr="id+text"``) is kept; the text goes through
        the model's adaptor. Explanations compare them to see which words of the
        item's text carry its score.

        Raises:
            ConfigError: the model reads no text (``item_repr="id"``).
            DataError: ``text_vectors`` is not ``(k, t)`` with the model's text width.
        """
        self._check_fitted()
        assert self.net is not None
        items = self.net.items
        if items.adaptor is None:
            raise ConfigError(
                f"{type(self).__name__}.item_repr must be 'id+text' or 'text' to read item "
                f"text; got {self.config.item_repr!r}"
            )
        vectors = torch.as_tensor(np.asarray(text_vectors, dtype=np.float32), device=self.device)
        width = items.text.shape[1]
        if vectors.ndim != 2 or vectors.shape[1] != width:
            raise DataError(
                f"{type(self).__name__}: text vectors must have shape (k, {width}); "
                f"got {tuple(vectors.shape)}"
            )
        with torch.no_grad():
            own = items.adaptor(items.text[item : item + 1])  # (1, d)
            rest = items.table()[item : item + 1] - own  # (1, d): the ID part, or 0
            out = rest + items.adaptor(vectors)  # (k, d)
        return out.float().cpu().numpy()

    def attention_matrices(self, history: np.ndarray) -> np.ndarray:
        """Every block's attention over the window the model reads for ``history``.

        Returns:
            float array ``(layers, heads, L, L)``, ``L = max_seq_len``; row ``i`` is
            query position ``i``'s attention over the key positions (rows of real
            positions sum to 1). ``window_positions`` maps history positions to
            window positions; the scoring position is ``L - 1``.
        """
        self._check_fitted()
        assert self.net is not None
        tokens = self._tokens([np.asarray(history, dtype=np.int64)]).to(self.device)  # (1, L)
        with torch.no_grad():
            _, attention = self.net(tokens, return_attention=True)
        return torch.stack([a[0] for a in attention]).float().cpu().numpy()  # (layers, h, L, L)

    def attention_maps(self, history: np.ndarray) -> np.ndarray:
        """Attention of the scoring position over the history, per block and head.

        Returns:
            float array ``(layers, heads, len(history))``; positions cut off by
            ``max_seq_len`` get 0. With a ``[MASK]`` token (BERT4Rec) the rest of a
            row is the scoring position's attention to itself.
        """
        history = np.asarray(history, dtype=np.int64)
        matrices = self.attention_matrices(history)  # (layers, h, L, L)
        positions = self.window_positions(len(history))
        kept = positions >= 0
        out = np.zeros((*matrices.shape[:2], len(history)), dtype=np.float64)
        out[:, :, kept] = matrices[:, :, -1, positions[kept]]
        return out

    def attention_weights(self, history: np.ndarray) -> np.ndarray:
        """Attention of the last position over the history (last block, mean of heads).

        The weights do not depend on any target item: they say which history positions
        the model read to form the query that scores every item.

        Returns:
            float array ``(len(history),)``; positions cut off by ``max_seq_len`` get 0.
        """
        return self.attention_maps(history)[-1].mean(axis=0)


def _negative_distribution(counts: np.ndarray, sampling: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Candidates (items with events) and log q per item index for negative sampling.

    Returns:
        int64 ``(n',)`` candidate item indices, float32 ``(num_items,)`` log sampling
        probabilities (``-inf`` for items that are never drawn).
    """
    counts = np.asarray(counts, dtype=np.float64)
    candidates = np.flatnonzero(counts > 0)
    q = np.zeros_like(counts)
    if len(candidates):
        q[candidates] = 1.0 if sampling == "uniform" else counts[candidates]
        q /= q.sum()
    with np.errstate(divide="ignore"):
        log_q = np.log(q).astype(np.float32)
    return torch.from_numpy(candidates.astype(np.int64)), torch.from_numpy(log_q)


def seen_entries(
    tokens: torch.Tensor,
    visible: torch.Tensor,
    num_items: int,
    columns: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``(row, column)`` cells of the items visible in each row, each cell once.

    Args:
        tokens: ``(N, L)`` item tokens (item index + 1).
        visible: bool ``(N, L)``, which positions count.
        num_items: catalog size.
        columns: optional int64 ``(num_items,)`` map from item index to column
            (``-1``: the item has no column). Without it, column ``i`` is item ``i``.

    Returns:
        int64 ``rows`` and ``cols`` of equal length, sorted by row then column.
    """
    if columns is None:
        cols = tokens - 1
    else:
        cols = columns[(tokens - 1).clamp(0, max(num_items - 1, 0))]  # -1: no column
        visible = visible & (cols >= 0)
    rows = torch.arange(tokens.shape[0], device=tokens.device)[:, None].expand_as(tokens)
    width = num_items + 1
    cells = torch.unique(rows[visible] * width + cols[visible])  # repeated items once
    return cells // width, cells % width


def seen_mask(
    tokens: torch.Tensor,
    visible: torch.Tensor,
    num_items: int,
    columns: torch.Tensor | None = None,
) -> torch.Tensor:
    """``(N, C)`` float mask: 1 where the item's token is visible in its row.

    Args:
        tokens: ``(N, L)`` item tokens (item index + 1).
        visible: bool ``(N, L)``, which positions count.
        num_items: catalog size.
        columns: optional int64 ``(num_items,)`` map from item index to mask column
            (``-1``: the item has no column); ``C`` is then the number of columns.
            Without it, ``C = num_items`` and column ``i`` is item ``i``.
    """
    rows, cols = seen_entries(tokens, visible, num_items, columns)
    if columns is None:
        width = num_items
    else:
        width = int(columns.max().item()) + 1 if len(columns) else 0
    mask = torch.zeros(tokens.shape[0], width, device=tokens.device)
    mask[rows, cols] = 1.0
    return mask
