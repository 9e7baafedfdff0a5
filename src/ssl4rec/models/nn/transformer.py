"""Transformer blocks for sequential recommenders (SASRec, BERT4Rec, CL4SRec).

Sequences are **left-padded**: the most recent item is always at the last position
``L - 1`` and padding (token 0) fills the front. Position embeddings are indexed
from the left of the padded window, so "the last position" always carries the same
position embedding, whatever the history length.

Attention masks use the most negative finite float instead of ``-inf``: a query row
whose keys are all masked (an empty history, or the padding rows at the front under
a causal mask) then gets uniform weights over padding instead of NaN, so scores stay
finite. Such rows never feed a loss and an empty history's scores are still finite.

References:
    Kang & McAuley. Self-Attentive Sequential Recommendation. ICDM 2018.
    Sun et al. BERT4Rec. CIKM 2019.
    Gao et al. From Features to Transformers: Redefining Ranking for Scalable Impact
    (LiGR). arXiv:2502.03417, 2025.
    Tikhonovich et al. eSASRec: Enhancing Transformer-based Recommendations in a
    Modular Fashion. arXiv:2508.06450, 2025.
    Shazeer. GLU Variants Improve Transformer (SwiGLU). arXiv:2002.05202, 2020.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ssl4rec.models.configs.sequential import BLOCKS
from ssl4rec.models.nn.dropout import Dropout
from ssl4rec.models.nn.filter import FrequencyFilter

__all__ = ["SelfAttention", "SwiGLU", "TransformerBlock", "TransformerEncoder", "left_pad"]

logger = logging.getLogger(__name__)


def left_pad(
    sequences: Sequence[np.ndarray | Sequence[int]],
    length: int,
    *,
    offset: int = 1,
    append: int | None = None,
) -> torch.Tensor:
    """Token matrix from item-index sequences: most recent ``length`` tokens, left-padded.

    Args:
        sequences: item indices per row, oldest first (any length, may be empty).
        length: window length ``L``.
        offset: added to every item index (token 0 is padding, so items start at 1).
        append: a token appended to every row after truncation to ``L - 1`` (the
            BERT4Rec ``[MASK]`` used for next-item prediction); ``None`` appends none.

    Returns:
        int64 tensor ``(len(sequences), L)``; 0 marks padding.
    """
    out = np.zeros((len(sequences), length), dtype=np.int64)  # (n, L)
    room = length - (append is not None)
    for row, seq in enumerate(sequences):
        seq = np.asarray(seq, dtype=np.int64)[-room:] if room > 0 else np.zeros(0, np.int64)
        if len(seq):
            out[row, room - len(seq) : room] = seq + offset
        if append is not None:
            out[row, -1] = append
    return torch.from_numpy(out)


class SelfAttention(nn.Module):
    """Multi-head self-attention that can return its attention weights.

    Args:
        dim: model width ``d`` (divisible by ``num_heads``).
        num_heads: attention heads ``h``.
        dropout: dropout on the attention weights.
    """

    def __init__(self, dim: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.dropout = Dropout(dropout)

    def forward(
        self, x: torch.Tensor, allowed: torch.Tensor, *, return_weights: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend.

        Args:
            x: ``(B, L, d)`` inputs.
            allowed: bool ``(B, L, L)``; ``allowed[b, i, j]`` lets query i see key j.
            return_weights: return the attention weights. They are computed
                explicitly then, and in training with dropout; otherwise the fused
                ``scaled_dot_product_attention`` kernel runs.

        Returns:
            ``(B, L, d)`` outputs and ``(B, h, L, L)`` attention weights (rows sum to
            1) or ``None``.
        """
        b, length, dim = x.shape
        h = self.num_heads
        q, k, v = self.qkv(x).chunk(3, dim=-1)  # 3 × (B, L, d)
        q = q.view(b, length, h, dim // h).transpose(1, 2)  # (B, h, L, d/h)
        k = k.view(b, length, h, dim // h).transpose(1, 2)  # (B, h, L, d/h)
        v = v.view(b, length, h, dim // h).transpose(1, 2)  # (B, h, L, d/h)
        # finite fill: a fully masked row becomes uniform, never NaN
        fill = torch.finfo(x.dtype).min
        weights = None
        if return_weights or (self.training and self.dropout.p > 0):
            # explicit weights: returned, or dropped out by our faster Dropout (the
            # fused kernel would fall back to this same computation with nn.Dropout)
            logits = q @ k.transpose(-2, -1) / math.sqrt(dim // h)  # (B, h, L, L)
            logits = logits.masked_fill(~allowed[:, None], fill)
            probs = torch.softmax(logits, dim=-1)  # (B, h, L, L)
            y = self.dropout(probs) @ v  # (B, h, L, d/h)
            weights = probs if return_weights else None
        else:
            bias = torch.zeros(allowed.shape, dtype=x.dtype, device=x.device)  # (B, L, L)
            bias = bias.masked_fill(~allowed, fill)[:, None]  # (B, 1, L, L)
            y = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias)  # (B, h, L, d/h)
        y = y.transpose(1, 2).reshape(b, length, dim)  # (B, L, d)
        return self.out(y), weights


class SwiGLU(nn.Module):
    """Feed-forward ``W_down · drop(SiLU(W_gate z) ⊙ W_up z)`` without biases (Shazeer, 2020)."""

    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.gate = nn.Linear(dim, hidden, bias=False)
        self.up = nn.Linear(dim, hidden, bias=False)
        self.down = nn.Linear(hidden, dim, bias=False)
        self.dropout = Dropout(dropout)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``(..., d)`` -> ``(..., d)``."""
        return self.down(self.dropout(nn.functional.silu(self.gate(z)) * self.up(z)))


class TransformerBlock(nn.Module):
    """Pre-LayerNorm block: ``x + attn(LN(x))``, then ``x + FFN(LN(x))``.

    With ``frequency_filter`` (BSARec, ``ssl4rec.models.nn.filter``) the first branch
    is ``filter_mix · filter(LN(x)) + (1 − filter_mix) · attn(LN(x))``.

    ``block="ligr"`` (LiGR, the layer of eSASRec) gates each residual branch by the
    un-normalised input, ``x + σ(W₁ x + b₁) ⊙ attn(LN(x))`` and
    ``x + σ(W₂ x + b₂) ⊙ FFN(LN(x))``, with a SwiGLU feed-forward of width ``ff_dim``.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        ff_dim: int,
        dropout: float,
        *,
        frequency_filter: FrequencyFilter | None = None,
        filter_mix: float = 0.0,
        block: str = "transformer",
    ) -> None:
        super().__init__()
        if block not in BLOCKS:
            raise ValueError(f"block must be one of {list(BLOCKS)}; got {block!r}")
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, num_heads, dropout)
        self.filter = frequency_filter
        self.filter_mix = float(filter_mix)
        self.norm2 = nn.LayerNorm(dim)
        self.ff: nn.Module
        self.gates: nn.ModuleList | None = None
        if block == "ligr":
            self.ff = SwiGLU(dim, ff_dim, dropout)
            self.gates = nn.ModuleList([nn.Linear(dim, dim), nn.Linear(dim, dim)])
        else:
            self.ff = nn.Sequential(
                nn.Linear(dim, ff_dim), nn.GELU(), Dropout(dropout), nn.Linear(ff_dim, dim)
            )
        self.dropout = Dropout(dropout)

    def forward(
        self, x: torch.Tensor, allowed: torch.Tensor, *, return_weights: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(B, L, d)`` -> ``(B, L, d)`` and the ``(B, h, L, L)`` weights if asked."""
        z = self.norm1(x)  # (B, L, d)
        y, weights = self.attn(z, allowed, return_weights=return_weights)
        if self.filter is not None and self.filter_mix > 0:
            # the last query row allows exactly the non-padding keys (causal or not)
            real = allowed[:, -1, :, None].to(z.dtype)  # (B, L, 1)
            y = self.filter_mix * self.filter(z * real) + (1.0 - self.filter_mix) * y
        if self.gates is None:
            x = x + self.dropout(y)
            x = x + self.dropout(self.ff(self.norm2(x)))
        else:
            x = x + torch.sigmoid(self.gates[0](x)) * self.dropout(y)
            x = x + torch.sigmoid(self.gates[1](x)) * self.dropout(self.ff(self.norm2(x)))
        return x, weights


class TransformerEncoder(nn.Module):
    """Position embeddings + a stack of Transformer blocks over item vectors.

    Args:
        dim: model width ``d``.
        num_layers: number of blocks.
        num_heads: attention heads per block.
        ff_dim: hidden width of the feed-forward layers.
        max_len: window length ``L`` (number of position embeddings).
        dropout: dropout on inputs, attention weights and residual branches.
        causal: position i only sees positions ≤ i (SASRec); else bidirectional.
        filter_mix: BSARec's α: weight of a frequency filter beside attention in
            every block (``ssl4rec.models.nn.filter``); 0 builds none.
        filter_keep: low frequencies the filter keeps (BSARec's ``c // 2 + 1``).
        block: ``transformer`` or ``ligr`` (gated residuals, SwiGLU; ``TransformerBlock``).
    """

    def __init__(
        self,
        dim: int,
        num_layers: int,
        num_heads: int,
        ff_dim: int,
        max_len: int,
        dropout: float,
        *,
        causal: bool,
        filter_mix: float = 0.0,
        filter_keep: int = 3,
        block: str = "transformer",
    ) -> None:
        super().__init__()
        self.causal = causal
        self.positions = nn.Embedding(max_len, dim)
        self.input_norm = nn.LayerNorm(dim)
        self.dropout = Dropout(dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(
                dim,
                num_heads,
                ff_dim,
                dropout,
                frequency_filter=(
                    FrequencyFilter(dim, max_len, filter_keep, causal=causal)
                    if filter_mix > 0
                    else None
                ),
                filter_mix=filter_mix,
                block=block,
            )
            for _ in range(num_layers)
        )
        self.final_norm = nn.LayerNorm(dim)
        nn.init.normal_(self.positions.weight, std=0.02)

    def attention_mask(self, tokens: torch.Tensor) -> torch.Tensor:
        """Which keys each query may attend to: a bool ``(B, L, L)`` mask.

        A key is allowed when it is not padding (and not in the future if causal).
        """
        length = tokens.shape[1]
        allowed = (tokens != 0)[:, None, :].expand(-1, length, -1)  # (B, L, L)
        if self.causal:
            future = torch.ones(length, length, dtype=torch.bool, device=tokens.device).triu(1)
            allowed = allowed & ~future  # (B, L, L)
        return allowed

    def forward(
        self, item_vectors: torch.Tensor, tokens: torch.Tensor, *, return_attention: bool = False
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Encode a batch of sequences.

        Args:
            item_vectors: ``(B, L, d)`` input vectors of the tokens.
            tokens: int64 ``(B, L)``; 0 marks padding.
            return_attention: also return each block's ``(B, h, L, L)`` weights.

        Returns:
            ``(B, L, d)`` hidden states (finite at padding positions, which callers
            ignore) and the list of attention weights (empty unless requested).
        """
        length = tokens.shape[1]
        pos = self.positions.weight[-length:]  # (L, d): right-aligned positions
        x = self.dropout(self.input_norm(item_vectors + pos[None]))  # (B, L, d)
        keep = (tokens != 0).unsqueeze(-1).to(x.dtype)  # (B, L, 1)
        x = x * keep
        allowed = self.attention_mask(tokens)
        attention: list[torch.Tensor] = []
        for block in self.blocks:
            x, weights = block(x, allowed, return_weights=return_attention)
            x = x * keep
            if weights is not None:
                attention.append(weights)
        return self.final_norm(x), attention
