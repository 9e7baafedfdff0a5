"""The output layer of a user-vector autoencoder with item vectors from item text.

An autoencoder's decoder ends in a linear layer with one weight row and one bias per
item: an item without training events (a cold item) keeps its random row and a bias
pushed down by the softmax, so it can never be recommended. ``TextOutput`` replaces
that layer: the logit of item i for the last hidden layer ``h`` is

    ``h · v_i + w · t_i`` (``item_repr="text"``), or
    ``h · (e_i + v_i) + b_i + w · t_i`` (``item_repr="id+text"``),

with ``t_i`` the item's text vector, ``v_i`` its projection by the text adaptor of the
sequential models (``ItemEncoder``/``MoEAdaptor`` in ``ssl4rec.models.nn.item_encoder``;
one expert is a whitened linear map ``(t_i − b) P``), ``w`` a learned vector (an item
prior read from the text), and ``e_i``/``b_i`` a per-item ID vector and bias that are
zero for items without training events. In ``text`` mode nothing is per item, so a
held-out item is scored from its text like any other.

With ``id_dropout`` (``id+text``), items without training events get a learned
*unknown-item* vector and bias ``(e_?, b_?)`` instead of zeros, trained as the
sequential models' (``ItemEncoder.drop_ids``): in each training step a random
``id_dropout`` share of the trained items is scored with ``(e_?, b_?)`` in place of
its own ``(e_i, b_i)``. Popular items carry a large ``b_i``, so with a zero there a
cold item ranks below them whatever its text says; ``b_?`` learns where an item known
only by its text belongs.

This is the content-based output layer of text-aware recommenders (item vectors
computed from item content and shared between seen and unseen items, e.g. the
text-based item representations of UniSRec, Hou et al., KDD 2022, whose adaptor is
reused here), placed on the decoder of Mult-VAE/Mult-DAE (Liang et al., WWW 2018).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ssl4rec.errors import ConfigError
from ssl4rec.models.nn.item_encoder import ItemEncoder
from ssl4rec.models.nn.mlp import MLP

__all__ = ["TextDecoder", "TextOutput"]


class TextOutput(nn.Module):
    """Hidden states ``(b, width)`` -> item logits ``(b, n)`` with text-based item vectors.

    Args:
        num_items: catalog size ``n``.
        width: width of the hidden layer it reads.
        mode: ``"text"`` or ``"id+text"``.
        text: ``(n, t)`` item text vectors (kept as a buffer: saved with the weights).
        trained: bool ``(n,)``, items with training events (default: all).
        num_experts: experts of the text adaptor.
        adaptor_dropout: dropout on text vectors inside the adaptor.
        id_dropout: ``id+text``: chance per trained item and training step that it is
            scored with the unknown-item vector and bias; 0: none, and items without
            training events get a zero ID part.
    """

    def __init__(
        self,
        num_items: int,
        width: int,
        mode: str,
        *,
        text: torch.Tensor,
        trained: torch.Tensor | None = None,
        num_experts: int = 1,
        adaptor_dropout: float = 0.1,
        id_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if mode not in ("text", "id+text"):
            raise ValueError(f"TextOutput.mode must be 'text' or 'id+text'; got {mode!r}")
        if id_dropout > 0 and mode != "id+text":
            raise ValueError(f"TextOutput.id_dropout needs mode 'id+text'; got {mode!r}")
        self.items = ItemEncoder(
            num_items,
            width,
            mode,
            text=text,
            trained=trained,
            num_experts=num_experts,
            adaptor_dropout=adaptor_dropout,
            id_dropout=id_dropout,
        )
        self.text_bias = nn.Linear(self.items.text.shape[1], 1, bias=False)  # w: item prior from text
        nn.init.zeros_(self.text_bias.weight)
        self.id_bias = nn.Parameter(torch.zeros(num_items)) if mode == "id+text" else None
        self.unknown_bias = nn.Parameter(torch.zeros(())) if id_dropout > 0 else None

    def bias(self, drop: torch.Tensor | None = None) -> torch.Tensor:
        """Each item's logit offset ``(n,)``: ``w · t_i`` + ``b_i`` (ID part).

        The ID part is ``b_i`` for trained items, and for untrained items and those in
        ``drop`` (bool ``(n,)``) the unknown-item bias, or 0 without ``id_dropout``.
        """
        out = self.text_bias(self.items.text).squeeze(-1)  # (n,)
        if self.id_bias is None:
            return out
        known = self.items.trained if drop is None else self.items.trained & ~drop  # (n,)
        if self.unknown_bias is None:
            return out + self.id_bias * known
        return out + torch.where(known, self.id_bias, self.unknown_bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``(b, width)`` hidden states -> ``(b, n)`` item logits."""
        drop = self.items.drop_mask()  # None outside training or without id_dropout
        table = self.items.table()  # (n, width)
        if drop is not None:
            table = self.items.drop_ids(table, drop)
        return h @ table.T + self.bias(drop)

    def set_output_bias(self, values: torch.Tensor) -> None:
        """Start the per-item bias at ``values`` ``(n,)`` (``id+text`` only).

        Raises:
            ConfigError: in ``text`` mode, which has no per-item bias.
        """
        if self.id_bias is None:
            raise ConfigError(
                "item_repr 'text' has no per-item output bias to start from a popularity "
                "prior; use item_repr 'id' or 'id+text'"
            )
        with torch.no_grad():
            self.id_bias.copy_(values.to(self.id_bias))


class TextDecoder(nn.Module):
    """A decoder MLP whose last layer is a ``TextOutput``: code ``(b, d)`` -> logits ``(b, n)``.

    Args:
        widths: the hidden widths from the code to the last hidden layer, code first
            (e.g. ``[200, 600]``); every layer is activated. A single width means the
            output layer reads the code itself.
        act: activation name (``ssl4rec.models.nn.mlp.ACTIVATIONS``).
        output: the item output layer; its ``width`` is ``widths[-1]``.
    """

    def __init__(self, widths: Sequence[int], act: str, output: TextOutput) -> None:
        super().__init__()
        self.body: nn.Module = (
            MLP(widths, act=act, last_act=act) if len(widths) > 1 else nn.Identity()
        )
        self.output = output

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``(b, widths[0])`` -> ``(b, n)`` item logits."""
        return self.output(self.body(z))

    def set_output_bias(self, values: torch.Tensor) -> None:
        """Start the per-item bias at ``values`` (see ``TextOutput.set_output_bias``)."""
        self.output.set_output_bias(values)
