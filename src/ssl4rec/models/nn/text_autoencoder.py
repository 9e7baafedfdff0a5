"""Base of the autoencoders whose decoder may score items by their text (Mult-VAE, Mult-DAE).

The config's ``item_repr`` (``TextOutputConfig``) picks the decoder's last layer:
``id`` keeps the per-item linear layer (the model is then exactly the ID model),
``text`` and ``id+text`` use ``TextOutput`` (``ssl4rec.models.nn.text_output``). The
encoder reads the user's item row as before. Item text vectors arrive like the
sequential models' (``item_text``: an array or an ``ItemTextSource``,
``ssl4rec.models.nn.item_text``), and a saved model carries them in its weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.configs.text_output import TextAutoencoderConfig
from ssl4rec.models.nn.autoencoder import AutoencoderRecommender
from ssl4rec.models.nn.item_text import ItemTextSource, resolve_item_text, saved_text_shape
from ssl4rec.models.nn.mlp import MLP
from ssl4rec.models.nn.text_output import TextDecoder, TextOutput

__all__ = ["TextDecoderAutoencoder", "decoder"]

TC = TypeVar("TC", bound=TextAutoencoderConfig)

TEXT_KEY = "net.decoder.output.items.text"
"""Name of the item text buffer in a saved model's weights."""


def decoder(
    widths: Sequence[int], act: str, num_items: int, text: TextOutput | None
) -> MLP | TextDecoder:
    """The decoder from the code to item logits.

    Args:
        widths: code width then hidden widths (e.g. ``[200, 600]``).
        act: hidden activation.
        num_items: catalog size (the ID decoder's output width).
        text: the text output layer, or ``None`` for the per-item linear layer.
    """
    if text is None:
        return MLP([*widths, num_items], act=act)
    return TextDecoder(widths, act, text)


class TextDecoderAutoencoder(AutoencoderRecommender[TC]):
    """An ``AutoencoderRecommender`` with the ``item_repr`` option on its output layer.

    Args:
        config: the model config (or keyword arguments for it).
        item_text: item text vectors, needed to fit when ``item_repr`` is not ``"id"``:
            a ``(num_items, t)`` array (row i for item index i) or an
            ``ItemTextSource`` called with the training data in ``build``. A loaded
            model needs none: its weights hold the vectors.
    """

    def __init__(
        self,
        config: TC | None = None,
        *,
        item_text: np.ndarray | torch.Tensor | ItemTextSource | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(config, **kwargs)
        self.item_text = item_text
        self._restored_text_shape: tuple[int, int] | None = None

    @property
    def dp_refusal(self) -> str | None:  # type: ignore[override]  # per config, not per class
        """Why DP-SGD refuses this model (``None`` for ``item_repr="id"``)."""
        if self.config.item_repr == "id":
            return None
        return (
            f"item_repr {self.config.item_repr!r}: Opacus clips per-user gradients of "
            "standard layers only, not the text output layer; use item_repr 'id'"
        )

    def text_vectors(self, data: Interactions) -> torch.Tensor | None:
        """``(num_items, t)`` text vectors for ``build`` (``None`` when ``item_repr`` is ``id``)."""
        if self.config.item_repr == "id":
            return None
        return resolve_item_text(
            type(self).__name__,
            self.config.item_repr,
            self.item_text,
            data,
            self._restored_text_shape,
        )

    def text_output(self, data: Interactions, text: torch.Tensor | None) -> TextOutput | None:
        """The text output layer of the decoder (``None`` for ``item_repr="id"``).

        It reads the decoder's last hidden layer: the first of ``hidden_dims`` (the
        decoder mirrors the encoder), or the code when there is none. Call inside the
        model's seeded block; ``text`` comes from ``text_vectors``.
        """
        if text is None:
            return None
        cfg = self.config
        width = cfg.hidden_dims[0] if cfg.hidden_dims else cfg.embedding_dim
        trained = torch.from_numpy(data.item_counts > 0) if len(data) else None
        return TextOutput(
            data.num_items,
            width,
            cfg.item_repr,
            text=text,
            trained=trained,
            num_experts=cfg.num_experts,
            adaptor_dropout=cfg.adaptor_dropout,
            id_dropout=cfg.id_dropout,
        )

    def _restore(self, directory: Path) -> None:
        if self.config.item_repr != "id" and self.item_text is None:
            self._restored_text_shape = saved_text_shape(directory, TEXT_KEY)
        super()._restore(directory)
