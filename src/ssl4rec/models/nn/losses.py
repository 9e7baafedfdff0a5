"""Losses shared by the self-supervised collaborative models."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "bpr_loss",
    "gaussian_kl",
    "gbce_beta",
    "gbce_loss",
    "log_normal",
    "multinomial_nll",
    "sampled_softmax_loss",
    "supervised_info_nce",
]


def multinomial_nll(
    logits: torch.Tensor, target: torch.Tensor, *, per_user: bool = False
) -> torch.Tensor:
    """Multinomial negative log-likelihood of a user's items, averaged over users.

    Optimizes ``-Σ_i x_ui log softmax(logits_u)_i``: the model spreads a unit of
    probability mass over items and is rewarded for mass on the user's items
    (Liang et al. 2018, eq. 2).

    Args:
        logits: ``(batch, num_items)`` unnormalised scores.
        target: ``(batch, num_items)`` non-negative interaction counts (binary here).
        per_user: return each user's term ``(batch,)`` instead of the mean (DP-SGD
            clips every user's gradient separately).

    Returns:
        A scalar: the mean over the batch (``(batch,)`` with ``per_user``).
    """
    nll = -(F.log_softmax(logits, dim=1) * target).sum(dim=1)
    return nll if per_user else nll.mean()


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor, *, per_user: bool = False) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over latent dims, mean over the batch.

    Args:
        mu: ``(batch, dim)`` posterior means.
        logvar: ``(batch, dim)`` posterior log-variances.
        per_user: return each row's KL ``(batch,)`` instead of the mean.
    """
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)
    return kl if per_user else kl.mean()


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


def gbce_beta(num_negatives: int, num_items: int, t: float) -> float:
    """Power of the positive probability in gSASRec, ``β = α (t (1 − 1/α) + 1/α)``.

    ``α = k / (N − 1)`` is the share of the ``N − 1`` non-target items that the ``k``
    negatives sample (Petrov & Macdonald, RecSys 2023, eq. 8); ``t = 0`` gives
    ``β = 1`` (plain BCE), ``t = 1`` gives ``β = α``.

    Args:
        num_negatives: negatives per positive ``k`` (> 0).
        num_items: catalog size ``N`` (≥ 2).
        t: calibration in [0, 1].
    """
    alpha = num_negatives / max(num_items - 1, 1)
    return alpha * (t * (1.0 - 1.0 / alpha) + 1.0 / alpha)


def gbce_loss(
    pos: torch.Tensor,
    neg: torch.Tensor,
    pos_items: torch.Tensor,
    neg_items: torch.Tensor,
    beta: float,
) -> torch.Tensor:
    """Generalised binary cross-entropy of each target against sampled negatives.

    Optimizes ``−(β log σ(pos_n) + Σ_j log(1 − σ(neg_nj))) / (1 + K)`` per row ``n``
    (gSASRec, Petrov & Macdonald, RecSys 2023): BCE whose positive probability is
    raised to the power ``β`` (``gbce_beta``), which undoes the overconfidence that
    negative sampling teaches. With ``β = 1`` it is BCE over the target and the
    ``K`` negatives. A negative equal to the row's target (an accidental hit) is left
    out of that row.

    Args:
        pos: ``(N,)`` target scores (logits).
        neg: ``(N, K)`` scores of the ``K`` sampled items in every row.
        pos_items: int64 ``(N,)`` target item indices.
        neg_items: int64 ``(K,)`` sampled item indices shared by every row, or
            ``(N, K)`` per row (repeats allowed).
        beta: power of the positive probability, > 0.

    Returns:
        A scalar: the mean over the ``N`` rows.
    """
    if neg_items.ndim == 1:
        neg_items = neg_items[None, :]  # (1, K): shared by every row
    hits = neg_items == pos_items[:, None]  # (N, K)
    negative = F.logsigmoid(-neg).masked_fill(hits, 0.0).sum(dim=1)  # (N,) Σ log(1 - σ)
    per_row = beta * F.logsigmoid(pos) + negative  # (N,)
    return -(per_row / (1 + neg.shape[1])).mean()


def supervised_info_nce(
    z1: torch.Tensor, z2: torch.Tensor, labels: torch.Tensor, temperature: float
) -> torch.Tensor:
    """InfoNCE between two views where rows sharing a label are positives too.

    Each of the ``2B`` views must pick out its positives (its partner view and every
    other view with the same label) among the other ``2B − 1`` views:
    ``−log(Σ_{p ∈ P(a)} exp(s_ap / τ) / Σ_{j ≠ a} exp(s_aj / τ))`` with dot-product
    similarities ``s``. Labels are next-item targets in DuoRec (Qiu et al., WSDM
    2022: sequences with the same target are semantic positives); with all labels
    distinct it is the NT-Xent of two views (CL4SRec's ``info_nce``). The positives
    are summed inside the log (``L_in`` of Khosla et al., NeurIPS 2020).

    Args:
        z1: ``(B, d)`` first views.
        z2: ``(B, d)`` second views (row i pairs with ``z1[i]``).
        labels: int64 ``(B,)`` label of each pair.
        temperature: τ > 0.

    Returns:
        Scalar mean over the ``2B`` views.
    """
    b = z1.shape[0]
    z = torch.cat([z1, z2])  # (2B, d)
    y = torch.cat([labels, labels])  # (2B,)
    sim = z @ z.T / temperature  # (2B, 2B)
    self_pair = torch.eye(2 * b, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(self_pair, float("-inf"))
    positive = (y[:, None] == y[None, :]) & ~self_pair  # (2B, 2B), the partner included
    matched = torch.logsumexp(sim.masked_fill(~positive, float("-inf")), dim=1)  # (2B,)
    return (torch.logsumexp(sim, dim=1) - matched).mean()
