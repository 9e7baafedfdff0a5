"""Explicit model registry: name -> model class and config class.

Each entry holds two import paths, resolved on first use: the model class and its
config class. Listing names imports nothing, and resolving a name to its config
class imports only the config's module (``ssl4rec.models.configs``, no torch), so
an experiment config is read and validated without importing any model.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ssl4rec.errors import ConfigError

if TYPE_CHECKING:
    from ssl4rec.models.base import Recommender
    from ssl4rec.models.config import ModelConfig

__all__ = ["MODELS", "RegistryEntry", "get_config_class", "get_model_class", "list_models"]


@dataclass(frozen=True, kw_only=True)
class RegistryEntry:
    """Where a registered model and its config class live, as ``module:name`` paths."""

    model: str
    """The ``Recommender`` subclass, e.g. ``"ssl4rec.models.ease:EASE"``."""
    config: str
    """Its ``config_class``, in a module that does not import torch, e.g.
    ``"ssl4rec.models.configs.ease:EASEConfig"``."""


MODELS: dict[str, RegistryEntry] = {
    "pop": RegistryEntry(
        model="ssl4rec.models.pop:Pop",
        config="ssl4rec.models.configs.pop:PopConfig",
    ),
    "dp-pop": RegistryEntry(
        model="ssl4rec.models.dp_pop:DPPop",
        config="ssl4rec.models.configs.dp_pop:DPPopConfig",
    ),
    "itemknn": RegistryEntry(
        model="ssl4rec.models.item_knn:ItemKNN",
        config="ssl4rec.models.configs.item_knn:ItemKNNConfig",
    ),
    "ease": RegistryEntry(
        model="ssl4rec.models.ease:EASE",
        config="ssl4rec.models.configs.ease:EASEConfig",
    ),
    "sasrec": RegistryEntry(
        model="ssl4rec.models.sasrec:SASRec",
        config="ssl4rec.models.configs.sasrec:SASRecConfig",
    ),
    "bert4rec": RegistryEntry(
        model="ssl4rec.models.bert4rec:BERT4Rec",
        config="ssl4rec.models.configs.bert4rec:BERT4RecConfig",
    ),
    "cl4srec": RegistryEntry(
        model="ssl4rec.models.cl4srec:CL4SRec",
        config="ssl4rec.models.configs.cl4srec:CL4SRecConfig",
    ),
    "multvae": RegistryEntry(
        model="ssl4rec.models.mult_vae:MultVAE",
        config="ssl4rec.models.configs.mult_vae:MultVAEConfig",
    ),
    "multdae": RegistryEntry(
        model="ssl4rec.models.mult_dae:MultDAE",
        config="ssl4rec.models.configs.mult_dae:MultDAEConfig",
    ),
    "bpr": RegistryEntry(
        model="ssl4rec.models.bpr:BPR",
        config="ssl4rec.models.configs.bpr:BPRConfig",
    ),
    "cdae": RegistryEntry(
        model="ssl4rec.models.cdae:CDAE",
        config="ssl4rec.models.configs.cdae:CDAEConfig",
    ),
    "recvae": RegistryEntry(
        model="ssl4rec.models.recvae:RecVAE",
        config="ssl4rec.models.configs.recvae:RecVAEConfig",
    ),
    "cfgan": RegistryEntry(
        model="ssl4rec.models.cfgan:CFGAN",
        config="ssl4rec.models.configs.cfgan:CFGANConfig",
    ),
    "lightgcn": RegistryEntry(
        model="ssl4rec.models.lightgcn:LightGCN",
        config="ssl4rec.models.configs.lightgcn:LightGCNConfig",
    ),
    "sgl": RegistryEntry(
        model="ssl4rec.models.sgl:SGL",
        config="ssl4rec.models.configs.sgl:SGLConfig",
    ),
    "simgcl": RegistryEntry(
        model="ssl4rec.models.simgcl:SimGCL",
        config="ssl4rec.models.configs.simgcl:SimGCLConfig",
    ),
    "xsimgcl": RegistryEntry(
        model="ssl4rec.models.xsimgcl:XSimGCL",
        config="ssl4rec.models.configs.xsimgcl:XSimGCLConfig",
    ),
}


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(MODELS)


def get_model_class(name: str) -> type[Recommender[Any]]:
    """The model class registered under ``name`` (case-insensitive).

    Raises:
        ConfigError: unknown name, with the known names and a did-you-mean hint.
    """
    return _resolve(_entry(name).model)


def get_config_class(name: str) -> type[ModelConfig]:
    """The config class of the model registered under ``name`` (case-insensitive).

    Imports the config's module only, not the model's (so not torch).

    Raises:
        ConfigError: unknown name, with the known names and a did-you-mean hint.
    """
    return _resolve(_entry(name).config)


def _entry(name: str) -> RegistryEntry:
    key = name.lower()
    entry = MODELS.get(key)
    if entry is None:
        close = difflib.get_close_matches(key, list(MODELS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"model.name must be one of {list_models()}; got {name!r}{hint}")
    return entry


def _resolve(target: str) -> Any:
    """The object at ``"module:name"`` (importing the module)."""
    module_name, attribute = target.split(":")
    return getattr(importlib.import_module(module_name), attribute)
