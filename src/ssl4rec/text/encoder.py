"""The item-text encoder protocol: texts in, L2-normalized float32 vectors out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["ItemTextEncoder"]


@runtime_checkable
class ItemTextEncoder(Protocol):
    """Anything that turns texts into fixed-size vectors.

    Models and the embedding cache depend only on this protocol, never on
    sentence-transformers directly.

    Attributes:
        name: Stable identity of the encoder *and its weights*. The embedding cache
            keys on it, so two encoders that can produce different vectors for the
            same text must have different names.
        dim: Length of each output vector.
    """

    @property
    def name(self) -> str:
        """Identifies the encoder in the embedding cache (model name or path)."""
        ...

    @property
    def dim(self) -> int:
        """Length of each output vector."""
        ...

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        progress: bool | None = None,
    ) -> np.ndarray:
        """Encode texts.

        Args:
            texts: The texts, in order.
            batch_size: Texts per forward pass.
            progress: Show a progress bar: ``True`` always, ``False`` never, ``None``
                as ``ssl4rec.logging.progress`` decides (terminal and INFO logging).

        Returns:
            float32 array of shape ``(len(texts), dim)`` with L2-normalized rows.
        """
        ...
