"""Inverted dropout whose masks come from ``torch.rand``.

Same distribution as ``torch.nn.Dropout`` (each element kept with probability
``1 - p`` and scaled by ``1 / (1 - p)``), but on CPU the mask is drawn about four
times faster: ``nn.Dropout`` fills its mask with ``bernoulli_``, which in PyTorch's
CPU kernel costs several times a uniform draw per element. In the Transformer
sequential models dropout runs on every block's attention weights, residual branches
and feed-forward layer, and there the Bernoulli draws were about a fifth of a CPU
training step (profile in docs/benchmarks.md, next to the RecBole comparison).
"""

from __future__ import annotations

import torch
from torch import nn
from typing_extensions import override

__all__ = ["Dropout"]


class Dropout(nn.Module):
    """Drop each element with probability ``p`` in training; identity in eval mode.

    Args:
        p: drop probability in [0, 1).
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout.p must be in [0, 1); got {p!r}")
        self.p = float(p)

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand_like(x).ge_(self.p)  # 1.0 with probability 1 - p, else 0.0
        return x * keep.mul_(1.0 / (1.0 - self.p))

    @override
    def extra_repr(self) -> str:
        return f"p={self.p}"
