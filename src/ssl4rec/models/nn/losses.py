"""Losses shared by the self-supervised collaborative models."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["bpr_loss", "gaussian_kl", "log_normal", "multinomial_nll", "sampled_softmax_loss"]


def multinomial_nll(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Multinomial negative log-likelihood of a user's items, averaged over users.

    Optimizes ``-Σ_i x_ui log softmax(logits_u)_i``: the model spreads a unit of
    probability mass over items and is rewarded for mass on the user's items
    (Liang et al. 2018, eq. 2).

    Args:
        logits: ``(batch, num_items)`` unnormalised scores.
        target: ``(batch, num_items)`` non-negative interaction counts (binary here).

    Returns:
        A scalar: the mean over the batch.
    """
    return -(F.log_softmax(logits, dim=1) * target).sum(dim=1).mean()


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over latent dims, mean over the batch.

    Args:
        mu: ``(batch, dim)`` posterior means.
        logvar: ``(batch, dim)`` posterior log-variances.
    """
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)).mean()


def log_normal(x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise log density of ``x`` under N(mu, exp(logvar)); all ``(batch, dim)``."""
    return -0.5 * (logvar + torch.log(torch.tensor(2 * torch.pi)) + (x - mu).pow(2) / logvar.exp())


def bpr_loss(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """Bayesian personalised ranking loss ``-mean log σ(pos - neg)`` (Rendle et al. 2009).

    Args:
        pos: ``(batch,)`` scores of observed items.
        neg: ``(batch,)`` or ``(batch, num_negatives)`` scores of sampled items.
    """
    if neg.dim() == 2:
        pos = pos.unsqueeze(1)  # (batch, 1) against (batch, num_negatives)
    return -F.logsigmoid(pos - neg).mean()


def sampled_softmax_loss(
    pos: torch.Tensor,
    neg: torch.Tensor,
    pos_items: torch.Tensor,
    neg_items: torch.Tensor,
    log_q: torch.Tensor | None = None,
) -> torch.Tensor:
    """Softmax cross-entropy of each target against negatives shared by all rows.

    Optimizes ``-log softmax([pos_n, neg_n1, ..., neg_nK])_0`` per row ``n``, the full
    softmax restricted to the target and the sampled items (Jean et al., ACL 2015;
    with uniform negatives as in Klenitskiy & Vasilev, RecSys 2023). A negative equal
    to the row's target (an accidental hit) is left out of that row. With ``log_q``
    every logit ``s_i`` becomes ``s_i - log q_i`` (the logQ correction of Yi et al.,
    RecSys 2019), so that, as the sample grows, the negatives' weights in the
    gradient tend to the full softmax's instead of being tilted towards the items
    sampled most; under uniform sampling it is a constant shift and changes nothing.

    Args:
        pos: ``(N,)`` target scores.
        neg: ``(N, K)`` scores of the ``K`` sampled items in every row.
        pos_items: int64 ``(N,)`` target item indices.
        neg_items: int64 ``(K,)`` sampled item indices (repeats allowed).
        log_q: optional ``(num_items,)`` log sampling probability per item.

    Returns:
        A scalar: the mean over the ``N`` rows.
    """
    if log_q is not None:
        pos = pos - log_q[pos_items]  # (N,)
        neg = neg - log_q[neg_items][None, :]  # (N, K)
    hits = neg_items[None, :] == pos_items[:, None]  # (N, K)
    neg = neg.masked_fill(hits, float("-inf"))
    logits = torch.cat([pos[:, None], neg], dim=1)  # (N, 1 + K)
    return -F.log_softmax(logits, dim=1)[:, 0].mean()
