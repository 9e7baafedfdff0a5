"""Item text vectors handed to a model: the source protocol and its checks.

A model that reads item text (the sequential models' ``item_repr``, the autoencoders'
text decoder) never encodes text itself: it gets a ``(num_items, t)`` array or an
``ItemTextSource`` and turns it into a tensor in ``build`` with ``resolve_item_text``.
A saved model holds its vectors in a buffer, so loading needs no encoder:
``saved_text_shape`` reads that buffer's shape from the weights file before ``build``
runs, and the buffer is created at that shape and filled by the saved weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import ConfigError, DataError

__all__ = ["ItemTextSource", "resolve_item_text", "saved_text_shape"]

_PACKED_SUFFIXES = ("", "::q8", "::f16", "::bf16")
"""How a weight may be stored in a saved folder (``ssl4rec.models.packing``)."""


@runtime_checkable
class ItemTextSource(Protocol):
    """Gives the item text vectors of a dataset; a text model calls it in ``build``.

    Models read vectors, never text: this is how a caller hands them over lazily
    (an array works as well). ``ssl4rec.runner`` builds one from a config's
    ``text_encoder``, ``text_template`` and ``text_cache_dir``; in Python any
    callable fits, e.g. ``lambda data: ssl4rec.text.item_embeddings(data, encoder)``.
    """

    def __call__(self, data: Interactions) -> np.ndarray:
        """Text vectors of ``data``'s items.

        Args:
            data: the training data (its ``item_table`` holds the item text).

        Returns:
            float array ``(data.num_items, t)``, row i for item index i.
        """
        ...


def resolve_item_text(
    owner: str,
    item_repr: str,
    source: Any,
    data: Interactions,
    restored_shape: tuple[int, int] | None = None,
) -> torch.Tensor:
    """``(num_items, t)`` float32 text vectors from what a model was given.

    Args:
        owner: the model class name, for messages.
        item_repr: the model's ``item_repr`` (named in the message when ``source`` is missing).
        source: an array ``(num_items, t)``, an ``ItemTextSource`` or ``None``.
        data: the training data (``num_items``; passed to a source).
        restored_shape: the saved buffer's shape when loading (``saved_text_shape``):
            with no ``source`` a zero placeholder of that shape is returned, which
            the saved weights then fill.

    Raises:
        ConfigError: no source (and nothing to restore), or a source of the wrong kind.
        DataError: vectors whose shape does not fit the catalog.
    """
    n = data.num_items
    if source is None and restored_shape is not None:
        return torch.zeros(restored_shape)
    if source is None:
        raise ConfigError(
            f"{owner}.item_text must be given when item_repr={item_repr!r}; "
            f"got None (pass ({n}, t) vectors, e.g. from "
            f"ssl4rec.text.item_embeddings(data, encoder), or an ItemTextSource; "
            f"ssl4rec.runner builds one from the config's text_encoder)"
        )
    if callable(source):
        source = source(data)
    if not isinstance(source, (np.ndarray, torch.Tensor)):
        raise ConfigError(
            f"{owner}.item_text must be an array ({n}, t) or an ItemTextSource; "
            f"got {type(source).__name__} (an encoder goes through "
            f"ssl4rec.text.item_embeddings(data, encoder) first)"
        )
    arr = torch.as_tensor(np.asarray(source, dtype=np.float32))
    if arr.ndim != 2 or arr.shape[0] != n:
        raise DataError(f"{owner}: item_text must have shape ({n}, d); got {tuple(arr.shape)}")
    return arr


def saved_text_shape(directory: Path, key: str) -> tuple[int, int] | None:
    """Shape of the text buffer ``key`` in ``directory``'s weights, if it is there.

    Args:
        directory: a saved model folder.
        key: the buffer's name in ``weights.safetensors`` (e.g. ``net.items.text``);
            it may be stored packed under ``key::q8`` and the like, with the same shape.
    """
    from safetensors import safe_open

    path = Path(directory) / "weights.safetensors"
    if not path.is_file():
        return None
    names = {key + suffix for suffix in _PACKED_SUFFIXES}
    with safe_open(str(path), framework="pt") as f:
        for name in f.keys():  # noqa: SIM118 - safe_open has no __contains__
            if name in names:
                shape = f.get_slice(name).get_shape()
                return (int(shape[0]), int(shape[1]))
    return None
