"""Compact storage of saved weights and the runtime form of compressed models.

``ssl4rec.compress`` writes a model folder whose ``weights.safetensors`` holds some
tensors in a compact codec, named by a suffix after ``::``; ``unpack_tensors``
turns them back into the float tensors the model's modules expect, so
``load_model`` reads a compressed folder like any other (still safetensors, never
pickle):

- ``KEY::q8`` int8 ``(..., cols)`` + ``KEY::q8scale`` float32 ``(...)``: row-wise
  symmetric int8 over the last dimension, ``value = q8 * scale[..., None]`` (item
  tables, Linear weights per output channel);
- ``KEY::f16`` / ``KEY::bf16``: half-precision storage, read back as float32;
- ``KEY::bits`` uint8 packed bitmask + ``KEY::nz`` the non-zero values +
  ``KEY::shape`` int64: a pruned tensor with its zeros left out.

``meta.json``'s ``compression`` record may also ask for a runtime form
(``apply_runtime``): ``dynamic_int8`` replaces every ``nn.Linear`` by its dynamic
int8 version (``torch.ao.quantization.quantize_dynamic``, per-channel weights),
``int8_weight_only`` replaces it by ``RowwiseInt8Linear`` (int8 weight rows, float
activations), and ``int8_item_table`` keeps a sequential model's ID embedding table as int8 rows
dequantized on the fly when items are scored (``RowwiseInt8Embedding``).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from ssl4rec.errors import DataError

__all__ = [
    "CODECS",
    "RowwiseInt8Embedding",
    "RowwiseInt8Linear",
    "apply_runtime",
    "pack_tensors",
    "quantize_rows",
    "stored_keys",
    "unpack_tensors",
]

logger = logging.getLogger(__name__)

CODECS: tuple[str, ...] = ("q8", "f16", "bf16", "sparse")
"""Storage codecs ``pack_tensors`` accepts."""

_SEP = "::"


def quantize_rows(value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Row-wise symmetric int8 over the last dimension: ``value ≈ q * scale[..., None]``.

    Args:
        value: float tensor ``(..., cols)`` (a matrix: one scale per row).

    Returns:
        int8 tensor of ``value``'s shape and float32 scales ``value.shape[:-1]`` (1
        for all-zero rows).
    """
    flat = value.detach().float().reshape(-1, value.shape[-1])  # (rows, cols)
    scale = flat.abs().amax(dim=1) / 127.0  # (rows,)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.round(flat / scale[:, None]).clamp(-127, 127).to(torch.int8)  # (rows, cols)
    return q.reshape(value.shape).contiguous(), scale.reshape(value.shape[:-1]).contiguous()


def pack_tensors(
    tensors: Mapping[str, torch.Tensor], plan: Mapping[str, str]
) -> dict[str, torch.Tensor]:
    """Encode the tensors named in ``plan`` with their codec; the rest stay as they are.

    Args:
        tensors: a flat state (``module.key`` -> tensor), as ``save_model`` writes it.
        plan: key -> codec (one of ``CODECS``); keys of non-float tensors are skipped.

    Returns:
        The tensors to write, packed ones under their suffixed names.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in tensors.items():
        codec = plan.get(key)
        if codec is None or not value.is_floating_point():
            out[key] = value
            continue
        value = value.detach().cpu()
        if codec == "q8":
            q, scale = quantize_rows(value)
            out[f"{key}{_SEP}q8"], out[f"{key}{_SEP}q8scale"] = q, scale
        elif codec == "f16":
            out[f"{key}{_SEP}f16"] = value.to(torch.float16).contiguous()
        elif codec == "bf16":
            out[f"{key}{_SEP}bf16"] = value.to(torch.bfloat16).contiguous()
        elif codec == "sparse":
            flat = value.reshape(-1)
            mask = (flat != 0).numpy()
            out[f"{key}{_SEP}bits"] = torch.from_numpy(np.packbits(mask))
            out[f"{key}{_SEP}nz"] = flat[torch.from_numpy(mask)].float().contiguous()
            out[f"{key}{_SEP}shape"] = torch.tensor(list(value.shape), dtype=torch.int64)
        else:
            raise ValueError(f"pack_tensors: codec must be one of {list(CODECS)}; got {codec!r}")
    return out


def unpack_tensors(
    tensors: Mapping[str, torch.Tensor], *, source: object = "weights"
) -> dict[str, torch.Tensor]:
    """Decode what ``pack_tensors`` wrote back into float32 tensors under the plain keys.

    Raises:
        DataError: a packed tensor with a missing or inconsistent part (``source`` named).
    """
    out: dict[str, torch.Tensor] = {}
    parts: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if _SEP in key:
            base, codec = key.rsplit(_SEP, 1)
            parts.setdefault(base, {})[codec] = value
        else:
            out[key] = value
    for base, group in parts.items():
        try:
            out[base] = _decode(group)
        except (KeyError, RuntimeError, ValueError) as err:
            raise DataError(
                f"{source}: packed tensor {base!r} ({sorted(group)}) cannot be decoded: {err}"
            ) from None
    return out


def _decode(group: Mapping[str, torch.Tensor]) -> torch.Tensor:
    if "q8" in group:
        q, scale = group["q8"], group["q8scale"].float()
        if tuple(scale.shape) != tuple(q.shape[:-1]):
            raise ValueError(f"scales {tuple(scale.shape)} do not fit int8 {tuple(q.shape)}")
        return q.float() * scale.unsqueeze(-1)
    if "f16" in group:
        return group["f16"].float()
    if "bf16" in group:
        return group["bf16"].float()
    if "bits" in group:
        shape = [int(s) for s in group["shape"].tolist()]
        numel = int(np.prod(shape)) if shape else 1
        mask = np.unpackbits(group["bits"].numpy(), count=numel).astype(bool)
        values = group["nz"].float()
        if int(mask.sum()) != values.numel():
            raise ValueError(f"{int(mask.sum())} set bits but {values.numel()} values")
        flat = torch.zeros(numel, dtype=torch.float32)
        flat[torch.from_numpy(mask)] = values
        return flat.reshape(shape)
    raise ValueError("unknown codec")


def stored_keys(keys: list[str]) -> set[str]:
    """The plain tensor names behind a weights file's (possibly suffixed) keys."""
    return {k.rsplit(_SEP, 1)[0] if _SEP in k else k for k in keys}


class RowwiseInt8Embedding(nn.Module):
    """An item table kept as int8 rows with per-row scales, dequantized when read.

    Stands in for an ``nn.Embedding``: ``weight`` is the dequantized ``(n, d)``
    table (computed on every access, so the float table is never stored) and
    ``forward(indices)`` dequantizes only the rows it gathers.

    Args:
        weight: the float ``(n, d)`` table to quantize.
    """

    qweight: torch.Tensor
    scale: torch.Tensor

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        q, scale = quantize_rows(weight)
        self.register_buffer("qweight", q)  # (n, d) int8
        self.register_buffer("scale", scale)  # (n,)

    @property
    def weight(self) -> torch.Tensor:
        """The dequantized table ``(n, d)``."""
        return self.qweight.float() * self.scale[:, None]

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        """Rows ``(*indices.shape, d)``."""
        return self.qweight[indices].float() * self.scale[indices].unsqueeze(-1)


class RowwiseInt8Linear(nn.Module):
    """A weight-only int8 ``nn.Linear``: int8 weight rows, one scale per output channel.

    With ``W = diag(scale) @ Q``, ``x @ W.T = (x @ Q.T) * scale``: the int8 rows are
    cast to float inside the matmul and the scales applied to its output, so the
    float weight is never kept. Activations are not quantized.

    Args:
        linear: the float layer to replace.
    """

    qweight: torch.Tensor
    scale: torch.Tensor
    bias: torch.Tensor | None

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        q, scale = quantize_rows(linear.weight.detach())
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.register_buffer("qweight", q)  # (out, in) int8
        self.register_buffer("scale", scale)  # (out,)
        bias = None if linear.bias is None else linear.bias.detach().clone()
        self.register_buffer("bias", bias)  # (out,) float or None

    @property
    def weight(self) -> torch.Tensor:
        """The dequantized weight ``(out, in)``."""
        return self.qweight.float() * self.scale[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (..., in)`` -> ``(..., out)``."""
        out = nn.functional.linear(x, self.qweight.to(x.dtype)) * self.scale
        return out if self.bias is None else out + self.bias


def apply_runtime(modules: Mapping[str, nn.Module], runtime: Mapping[str, Any]) -> None:
    """Turn loaded float modules into the runtime form a compression record asks for.

    Args:
        modules: the model's modules (``Recommender.modules()``), changed in place.
        runtime: ``{"dynamic_int8": bool, "int8_weight_only": bool, "int8_item_table": bool}``.
    """
    if runtime.get("int8_item_table"):
        for module in modules.values():
            items = getattr(module, "items", None)
            ids = getattr(items, "ids", None)
            if isinstance(ids, nn.Embedding):
                items.ids = RowwiseInt8Embedding(ids.weight.detach())  # type: ignore[union-attr]
    if runtime.get("int8_weight_only"):
        for module in modules.values():
            _swap_linears(module)
    if runtime.get("dynamic_int8"):
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        for module in modules.values():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.ao's deprecation notice
                quantize_dynamic(
                    module,
                    {nn.Linear: per_channel_dynamic_qconfig},
                    dtype=torch.qint8,
                    inplace=True,
                )
            module.eval()


def _swap_linears(module: nn.Module) -> None:
    """Replace every ``nn.Linear`` under ``module`` by a ``RowwiseInt8Linear``, in place."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Linear):
            setattr(module, name, RowwiseInt8Linear(child))
        else:
            _swap_linears(child)
