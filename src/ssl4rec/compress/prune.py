"""Magnitude pruning with ``torch.nn.utils.prune``, then a short fine-tune.

Unstructured: every weight matrix of the model (Linear layers, embedding tables, the
MoE text adaptor's experts) loses its smallest-magnitude ``sparsity`` share
(``prune.l1_unstructured``). Structured (Transformers): whole FFN neurons
(``prune.ln_structured`` on the rows of the first FFN layer, the matching columns of
the second) and whole attention heads (lowest L2 norm of their q/k/v rows and output
columns, ``prune.custom_from_mask``); at least one head per block stays.

The masks are made permanent (``prune.remove``) and held through the fine-tune by
gradient hooks that zero the gradient of pruned weights (Adam then never moves them:
its moments stay 0 and weight decay acts on a 0 weight). The saved folder stores the
pruned tensors as a bitmask plus their non-zero values.

References:
    Han, Pool, Tran, Dally. Learning both Weights and Connections for Efficient
    Neural Networks. NeurIPS 2015 (magnitude pruning + retraining).
    Michel, Levy, Neubig. Are Sixteen Heads Really Better than One? NeurIPS 2019
    (pruning attention heads).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, cast

import torch
from torch import nn
from torch.nn.utils import prune

from ssl4rec.data.splits import Split
from ssl4rec.models.base import Recommender
from ssl4rec.models.nn.transformer import SelfAttention, SwiGLU, TransformerBlock
from ssl4rec.training.trainer import TrainConfig, Trainer

__all__ = ["finetune_pruned", "prune_model"]

logger = logging.getLogger(__name__)


def _weight_owners(model: Recommender[Any]) -> list[tuple[str, nn.Module]]:
    """``(saved name of the weight, owning module)`` for every weight matrix."""
    out = []
    for name, module in model.modules().items():
        for sub, child in module.named_modules():
            weight = child._parameters.get("weight")  # own parameter only, not a child's
            if isinstance(weight, nn.Parameter) and weight.ndim >= 2:
                out.append((f"{name}.{sub}.weight" if sub else f"{name}.weight", child))
    return out


def _structured(model: Recommender[Any], sparsity: float) -> list[tuple[str, nn.Module]]:
    """Prune FFN neurons and attention heads of every Transformer block."""
    pruned: list[tuple[str, nn.Module]] = []
    for name, module in model.modules().items():
        for sub, block in module.named_modules():
            if not isinstance(block, TransformerBlock):
                continue
            prefix = f"{name}.{sub}"
            ff_in: nn.Module
            ff_out: nn.Module
            if isinstance(block.ff, SwiGLU):  # LiGR blocks: a neuron is a row of gate and up
                ff_in, ff_out, keys = block.ff.gate, block.ff.down, ("gate", "down")
            else:
                ff = cast(nn.Sequential, block.ff)
                ff_in, ff_out, keys = ff[0], ff[3], ("0", "3")
            assert isinstance(ff_in, nn.Linear) and isinstance(ff_out, nn.Linear)
            prune.ln_structured(ff_in, "weight", amount=sparsity, n=2, dim=0)
            alive = cast(torch.Tensor, ff_in.weight_mask)[:, 0].clone()  # (ff_dim,) 1 = kept
            if ff_in.bias is not None:
                prune.custom_from_mask(ff_in, "bias", alive)
            prune.custom_from_mask(ff_out, "weight", alive[None, :].expand_as(ff_out.weight))
            pruned += [(f"{prefix}.ff.{keys[0]}.weight", ff_in), (f"{prefix}.ff.{keys[1]}.weight", ff_out)]
            if isinstance(block.ff, SwiGLU):
                up = block.ff.up
                prune.custom_from_mask(up, "weight", alive[:, None].expand_as(up.weight))
                pruned.append((f"{prefix}.ff.up.weight", up))
            pruned += _prune_heads(block.attn, sparsity, f"{prefix}.attn")
    return pruned


def _prune_heads(attn: SelfAttention, sparsity: float, prefix: str) -> list[tuple[str, nn.Module]]:
    heads = attn.num_heads
    drop = min(round(sparsity * heads), heads - 1)
    if drop < 1:
        return []
    dim = attn.out.weight.shape[0]
    width = dim // heads
    qkv = attn.qkv.weight.detach().reshape(3, heads, width, dim)  # (3, h, d/h, d)
    out = attn.out.weight.detach().reshape(dim, heads, width)  # (d, h, d/h)
    norms = qkv.pow(2).sum(dim=(0, 2, 3)) + out.pow(2).sum(dim=(0, 2))  # (h,)
    keep = torch.ones(heads)
    keep[torch.argsort(norms)[:drop]] = 0.0
    rows = keep.repeat_interleave(width).repeat(3)  # (3 d,)
    prune.custom_from_mask(attn.qkv, "weight", rows[:, None].expand_as(attn.qkv.weight))
    if attn.qkv.bias is not None:
        prune.custom_from_mask(attn.qkv, "bias", rows)
    cols = keep.repeat_interleave(width)  # (d,)
    prune.custom_from_mask(attn.out, "weight", cols[None, :].expand_as(attn.out.weight))
    return [(f"{prefix}.qkv.weight", attn.qkv), (f"{prefix}.out.weight", attn.out)]


def prune_model(
    model: Recommender[Any], *, sparsity: float, structured: bool
) -> dict[str, torch.Tensor]:
    """Prune ``model`` in place; returns the keep-mask of every pruned tensor by saved name.

    Biases pruned with their neurons or heads are included (``...bias``).
    """
    if structured:
        targets = _structured(model, sparsity)
    else:
        targets = _weight_owners(model)
        for _, owner in targets:
            prune.l1_unstructured(owner, "weight", amount=sparsity)
    masks: dict[str, torch.Tensor] = {}
    for key, owner in targets:
        base = key.rsplit(".", 1)[0]
        for param in ("weight", "bias"):
            if prune.is_pruned(owner) and hasattr(owner, f"{param}_mask"):
                masks[f"{base}.{param}"] = getattr(owner, f"{param}_mask").detach().clone()
                prune.remove(owner, param)
    logger.info(
        "pruned: tensors=%d sparsity=%.3f structured=%s",
        len(masks),
        _sparsity(model, masks),
        structured,
    )
    return masks


def _parameters(model: Recommender[Any]) -> dict[str, torch.Tensor]:
    return {
        f"{name}.{key}": value
        for name, module in model.modules().items()
        for key, value in module.named_parameters()
    }


def _sparsity(model: Recommender[Any], masks: dict[str, torch.Tensor]) -> float:
    params = _parameters(model)
    zeros = sum(int((params[k] == 0).sum()) for k in masks if k in params)
    total = sum(params[k].numel() for k in masks if k in params)
    return zeros / max(total, 1)


def sparsity_report(model: Recommender[Any], masks: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Zeros among the pruned tensors and among all parameters."""
    params = _parameters(model)
    zeros = sum(int((p == 0).sum()) for p in params.values())
    total = sum(p.numel() for p in params.values())
    return {
        "pruned_tensors": sorted(masks),
        "sparsity_pruned": round(_sparsity(model, masks), 4),
        "sparsity_all": round(zeros / max(total, 1), 4),
    }


def finetune_pruned(
    model: Recommender[Any],
    masks: dict[str, torch.Tensor],
    split: Split,
    train_config: TrainConfig,
    *,
    epochs: int,
) -> dict[str, Any]:
    """Fine-tune a pruned model on ``split.train`` with early stopping on ``split.valid``.

    Pruned weights stay exactly zero (their gradients are masked). The model's
    config keeps its own epoch limit afterwards.

    Returns:
        The trainer's summary.
    """
    params = _parameters(model)
    hooks = [
        params[key].register_hook(lambda grad, keep=mask: grad * keep.to(grad.dtype))
        for key, mask in masks.items()
        if key in params and params[key].requires_grad
    ]
    original = model.config
    model.config = dataclasses.replace(original, epochs=epochs)  # type: ignore[type-var]
    try:
        summary = Trainer(train_config).fit(model, split.train, valid=split.valid)  # type: ignore[arg-type]
    finally:
        model.config = original
        for hook in hooks:
            hook.remove()
    for key, mask in masks.items():
        if key in params:
            assert bool((params[key].detach()[mask == 0] == 0).all()), key
    return summary
