"""Explicit model registry: name -> model class (and through it, its config class).

Entries are import paths, resolved on first use, so listing names imports no model.
"""

from __future__ import annotations

import difflib
import importlib
from typing import TYPE_CHECKING, Any

from ssl4rec.errors import ConfigError

if TYPE_CHECKING:
    from ssl4rec.models.base import Recommender

__all__ = ["get_model_class", "list_models", "MODELS"]

MODELS: dict[str, str] = {
    "pop": "ssl4rec.models.pop:Pop",
    "itemknn": "ssl4rec.models.item_knn:ItemKNN",
    "ease": "ssl4rec.models.ease:EASE",
    "sasrec": "ssl4rec.models.sasrec:SASRec",
    "bert4rec": "ssl4rec.models.bert4rec:BERT4Rec",
    "cl4srec": "ssl4rec.models.cl4srec:CL4SRec",
    "multvae": "ssl4rec.models.mult_vae:MultVAE",
    "multdae": "ssl4rec.models.mult_dae:MultDAE",
    "bpr": "ssl4rec.models.bpr:BPR",
    "cdae": "ssl4rec.models.cdae:CDAE",
    "recvae": "ssl4rec.models.recvae:RecVAE",
    "cfgan": "ssl4rec.models.cfgan:CFGAN",
}


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(MODELS)


def get_model_class(name: str) -> type[Recommender[Any]]:
    """The model class registered under ``name`` (case-insensitive).

    Raises:
        ConfigError: unknown name, with the known names and a did-you-mean hint.
    """
    key = name.lower()
    target = MODELS.get(key)
    if target is None:
        close = difflib.get_close_matches(key, list(MODELS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"model.name must be one of {list_models()}; got {name!r}{hint}")
    module_name, cls_name = target.split(":")
    return getattr(importlib.import_module(module_name), cls_name)
