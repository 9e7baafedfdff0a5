"""Quantization plans: which saved tensors get which storage codec, and the runtime form.

- int8 dynamic (Linear layers): weights stored as per-output-channel int8 and run by
  ``torch.ao.quantization.quantize_dynamic`` after loading (int8 weights, activations
  quantized per batch on the fly).
- int8 item tables: every float matrix with a catalog-sized dimension (ID embedding,
  text vectors, an autoencoder's item-side Linear weights, EASE's item-item matrix)
  stored as row-wise int8 with per-row scales; a sequential model's ID table stays
  int8 in memory and is dequantized when items are scored.
- int8 weight-only: the Linear weights and item tables of ``int8`` stored the same
  way, but no activation is quantized: each ``nn.Linear`` keeps its weight as int8
  rows with per-output-channel scales and dequantizes it when it runs
  (``RowwiseInt8Linear``), so the only error is the weights' rounding.
- fp16 / bf16: every float tensor stored in half precision, computed in float32.

References:
    Jacob et al. Quantization and Training of Neural Networks for Efficient
    Integer-Arithmetic-Only Inference. CVPR 2018 (symmetric int8 with scales).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ssl4rec.models.base import Recommender

__all__ = ["item_table_keys", "linear_weight_keys", "quantization_plan", "saved_tensors"]


def saved_tensors(model: Recommender[Any]) -> dict[str, torch.Tensor]:
    """The flat state ``save_model`` writes (``module.key`` and ``extra.key``)."""
    out = {
        f"{name}.{key}": value
        for name, module in model.modules().items()
        for key, value in module.state_dict().items()
    }
    out.update({f"extra.{key}": value for key, value in model.extra_state().items()})
    return out


def linear_weight_keys(model: Recommender[Any]) -> list[str]:
    """Saved names of every ``nn.Linear`` weight of the model's modules."""
    return [
        f"{name}.{sub}.weight" if sub else f"{name}.weight"
        for name, module in model.modules().items()
        for sub, child in module.named_modules()
        if isinstance(child, nn.Linear)
    ]


def item_table_keys(model: Recommender[Any], *, min_size: int = 1024) -> list[str]:
    """Saved float matrices with a catalog-sized dimension (``num_items`` or more rows/cols)."""
    n = model.num_items
    return [
        key
        for key, value in saved_tensors(model).items()
        if value.is_floating_point()
        and value.ndim == 2
        and value.numel() >= min_size
        and n in (value.shape[0], value.shape[1], value.shape[0] - 2)
    ]


def quantization_plan(
    model: Recommender[Any], method: str
) -> tuple[dict[str, str], dict[str, bool]]:
    """Storage codecs and the runtime form of a quantization method.

    Args:
        model: a fitted float model.
        method: ``int8``, ``int8-dynamic``, ``int8-embeddings``, ``int8-weight-only``,
            ``fp16`` or ``bf16``.

    Returns:
        ``(plan, runtime)``: saved name -> codec (see ``ssl4rec.models.packing``), and
        the runtime flags for ``meta.json`` (``dynamic_int8``, ``int8_weight_only``,
        ``int8_item_table``).
    """
    tensors = saved_tensors(model)
    if method in ("fp16", "bf16"):
        codec = "f16" if method == "fp16" else "bf16"
        return {k: codec for k, v in tensors.items() if v.is_floating_point()}, {}
    plan: dict[str, str] = {}
    runtime: dict[str, bool] = {}
    if method in ("int8", "int8-dynamic", "int8-weight-only"):
        # Linear weights (run as dynamic int8) and other weight blocks of at least
        # 4096 values that are not item tables (the MoE text adaptor's experts)
        tables = set(item_table_keys(model))
        plan.update(dict.fromkeys(linear_weight_keys(model), "q8"))
        plan.update(
            (k, "q8")
            for k, v in tensors.items()
            if v.is_floating_point() and v.ndim >= 2 and v.numel() >= 4096 and k not in tables
        )
        runtime["dynamic_int8" if method != "int8-weight-only" else "int8_weight_only"] = True
    if method in ("int8", "int8-embeddings", "int8-weight-only"):
        plan.update(dict.fromkeys(item_table_keys(model), "q8"))
        if any(k.endswith("items.ids.weight") for k in plan):
            runtime["int8_item_table"] = True
    return plan, runtime
