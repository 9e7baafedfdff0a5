"""Frequency-domain filter beside self-attention (BSARec's attentive inductive bias).

BSARec (Shin et al., AAAI 2024) adds to each self-attention block a fixed Fourier
filter of the sequence: the ``c`` lowest frequencies of the window (its slow trend,
which attention tends to wash out) plus the rest (the high frequencies) rescaled by a
learned per-dimension ``β``, and mixes the two branches:
``α · (low(z) + β ⊙ (z − low(z))) + (1 − α) · attention(z)``.

The low-pass filter is linear along the sequence, so it is an ``(L, L)`` matrix
``M = IDFT · diag(keep the c lowest frequencies) · DFT`` (built with ``torch.fft``).
Applied to a whole window, row ``i`` of ``M`` reads every position, the future
included: a next-item model trained with a loss at every position (SASRec here)
would see its targets. For causal models the filter is therefore the last row of
``M`` used as a causal convolution kernel: position ``i`` gets exactly what the
scoring position (the window's last, ``L − 1``) gets when the history ends at ``i``
and the window is left-padded with zeros. At the scoring position it is the full
window's filter, as in BSARec; earlier positions never read later ones.

References:
    Yehjin Shin, Jeongwhan Choi, Hyowon Wi, Noseong Park. An Attentive Inductive Bias
    for Sequential Recommendation beyond the Self-Attention. AAAI 2024.
    Kun Zhou et al. Filter-enhanced MLP is All You Need for Sequential
    Recommendation (FMLP-Rec). WWW 2022 (the learnable-filter predecessor).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FrequencyFilter", "low_pass_matrix"]


def low_pass_matrix(length: int, keep: int) -> torch.Tensor:
    """The ``(L, L)`` matrix of a low-pass filter along a window of ``length`` positions.

    ``low_pass_matrix(L, c) @ x`` keeps the ``c`` lowest frequencies of ``rfft(x)``
    (the constant one included) and drops the rest.

    Args:
        length: window length ``L``.
        keep: kept frequencies ``c``, ``1 ≤ c`` (more than ``L // 2 + 1`` keeps all).
    """
    eye = torch.eye(length, dtype=torch.float64)  # column j: the impulse at j
    spectrum = torch.fft.rfft(eye, dim=0)  # (L // 2 + 1, L)
    spectrum[keep:] = 0
    return torch.fft.irfft(spectrum, n=length, dim=0).float()  # (L, L)


class FrequencyFilter(nn.Module):
    """BSARec's filter branch: ``low(z) + β ⊙ (z − low(z))`` along the sequence.

    Args:
        dim: model width ``d`` (``β`` has one entry per dimension).
        max_len: window length ``L``.
        keep: kept low frequencies ``c`` (BSARec's ``c // 2 + 1``: their ``c = 5``
            keeps 3).
        causal: filter position ``i`` from positions ``≤ i`` only (see the module
            docstring); else the whole window's low-pass filter.
    """

    matrix: torch.Tensor
    """``(L, L)`` filter along the sequence (lower triangular when causal)."""

    def __init__(self, dim: int, max_len: int, keep: int, *, causal: bool) -> None:
        super().__init__()
        full = low_pass_matrix(max_len, keep)  # (L, L)
        if causal:
            kernel = full[-1].flip(0)  # (L,): kernel[m] weighs the item m steps back
            lag = torch.arange(max_len)[:, None] - torch.arange(max_len)[None, :]  # (L, L): i - j
            full = torch.where(lag >= 0, kernel[lag.clamp(min=0)], torch.zeros(()))
        self.register_buffer("matrix", full, persistent=False)
        # β = sqrt_beta², so the high-frequency scale stays ≥ 0; 1 at the start (the
        # branch starts as the identity: low + high = z)
        self.sqrt_beta = nn.Parameter(torch.ones(dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, L', d)`` -> ``(B, L', d)``, ``L' ≤ L``; padding rows of ``z`` must be zero.

        Windows are right-aligned, so a narrower batch uses the bottom-right block of
        the matrix (the positions left of it would be padding zeros).
        """
        width = z.shape[1]
        matrix = self.matrix[-width:, -width:].to(z.dtype)  # (L', L')
        low = torch.einsum("ij,bjd->bid", matrix, z)  # (B, L', d)
        return low + self.sqrt_beta.square() * (z - low)
