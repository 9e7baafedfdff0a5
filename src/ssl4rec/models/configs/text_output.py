"""Config fields of an autoencoder's text output layer; importing it imports no torch.

``TextOutputConfig`` is mixed into the configs of Mult-VAE and Mult-DAE
(``TextAutoencoderConfig``): ``item_repr``
chooses what the decoder's last layer scores an item with (``ssl4rec.models.nn.text_output``).
The ``text_*`` fields are the ones the sequential models have; ``ssl4rec.runner``
reads them to encode the item text for any model whose ``item_repr`` is not ``id``.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.config import AutoencoderConfig, ModelConfig
from ssl4rec.models.configs.sequential import ITEM_REPRS, ItemRepr

__all__ = ["TextAutoencoderConfig", "TextOutputConfig"]


@dataclass(frozen=True, kw_only=True)
class TextOutputConfig(ModelConfig):
    """How the output layer represents items: by ID, by text, or both."""

    item_repr: ItemRepr = "id"
    """Item vectors of the output layer: ``id``, a learned vector and bias per item
    (the paper's decoder); ``text``, an adaptor of the item's text vector and a bias
    read from it, no per-item parameter, so an item without training events still
    gets a score from its text; ``id+text``, both summed (items without training
    events get their text part only)."""
    text_encoder: str = "all-MiniLM-L6-v2"
    """Sentence-transformers model (name or local path) that ``ssl4rec.runner`` encodes
    item text with; a model built in Python gets its vectors through ``item_text``."""
    text_template: str | None = None
    """Item-text template name or format string (runner); null = the ``default`` template."""
    text_cache_dir: str | None = None
    """Embedding cache root (runner); null = ``$SSL4REC_HOME/embeddings`` or the user cache."""
    num_experts: int = 1
    """Experts of the text adaptor (``MoEAdaptor``); 1 is one whitened linear projection
    ``(t − b) P``, and each expert costs an ``(items × text width × layer width)`` product
    per step; > 0."""
    adaptor_dropout: float = 0.1
    """Dropout on text vectors inside the adaptor, in [0, 1)."""
    id_dropout: float = 0.0
    """``id+text`` only: chance per item and training step that the output layer scores
    it by its text + a learned unknown-item vector and bias instead of its own ID
    vector and bias; items without training events (cold items) always get those. In
    [0, 1)."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        checks.one_of("item_repr", self.item_repr, ITEM_REPRS)
        checks.positive("num_experts", self.num_experts)
        checks.fractions(self, "adaptor_dropout", "id_dropout")
        if self.id_dropout > 0 and self.item_repr != "id+text":
            checks.fail("id_dropout", "0 unless item_repr is 'id+text'", self.id_dropout)


@dataclass(frozen=True, kw_only=True)
class TextAutoencoderConfig(TextOutputConfig, AutoencoderConfig):
    """``AutoencoderConfig`` with the output layer's ``item_repr`` (Mult-VAE, Mult-DAE)."""
