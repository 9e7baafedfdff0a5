"""Which compression methods fit which model, declared per model family.

A method a model does not support is refused with one line listing the ones it
does (``check_method``).
"""

from __future__ import annotations

from typing import Any

from ssl4rec.compress.config import Method
from ssl4rec.errors import ConfigError
from ssl4rec.models.base import Recommender
from ssl4rec.models.mult_dae import MultDAE
from ssl4rec.models.mult_vae import MultVAE
from ssl4rec.models.nn.autoencoder import AutoencoderRecommender
from ssl4rec.models.nn.sequential import SequentialRecommender

__all__ = ["SUPPORTED", "check_method", "supported_methods"]

_STORAGE: tuple[Method, ...] = ("int8-embeddings", "fp16", "bf16")
_QUANT: tuple[Method, ...] = ("int8", "int8-dynamic", "int8-weight-only", *_STORAGE)

SUPPORTED: dict[type, tuple[Method, ...]] = {
    # causal Transformers: everything; the student of `distill` is a SASRec
    SequentialRecommender: (*_QUANT, "prune", "prune-structured", "distill", "onnx"),
    # the ONNX graph scores a new user's item vector (no user node, unlike CDAE)
    MultVAE: (*_QUANT, "prune", "onnx"),
    MultDAE: (*_QUANT, "prune", "onnx"),
    AutoencoderRecommender: (*_QUANT, "prune"),
    # closed-form and factor models: their item tables stored compactly
    Recommender: _STORAGE,
}
"""Model class -> its methods; a model takes the entry of the nearest class in its MRO."""


def supported_methods(model: Recommender[Any]) -> list[str]:
    """The compression methods ``model`` supports, in ``METHODS`` order."""
    for cls in type(model).__mro__:
        if cls in SUPPORTED:
            methods: list[str] = list(SUPPORTED[cls])
            if isinstance(model, SequentialRecommender) and not model.causal:
                # a bidirectional teacher's per-position outputs see the target
                methods.remove("distill")
            return methods
    return []


def check_method(model: Recommender[Any], method: str) -> None:
    """Refuse a method ``model`` does not support.

    Raises:
        ConfigError: one line naming the model and the methods it supports.
    """
    methods = supported_methods(model)
    if method not in methods:
        raise ConfigError(
            f"compress: method {method!r} does not support {type(model).__name__} "
            f"({model.name}); its methods are {methods}"
        )
