"""Deterministic stand-ins for heavy components, for tests (no network, no model)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import torch

from ssl4rec.data.interactions import Interactions
from ssl4rec.evaluation.fixed import FixedScorer

__all__ = ["HashTextEncoder", "RandomScorer"]

_WORD = re.compile(r"\w+")


class HashTextEncoder:
    """A bag-of-hashed-words text encoder that satisfies ``ItemTextEncoder``.

    Each lower-cased word token adds ±1 to one of ``dim`` buckets chosen by a
    BLAKE2 hash of the word; the sum is L2-normalized. Texts that share words get
    similar vectors, the output is identical across runs and machines, and nothing
    is downloaded. A text without words maps to a fixed unit vector.

    Args:
        dim: Output dimension (≥ 2).

    Attributes:
        name: ``"hash-<dim>"``; stable, so the embedding cache can key on it.
        dim: Output dimension.
        calls: Number of ``encode`` calls so far.
        num_encoded: Number of texts encoded so far.
    """

    def __init__(self, dim: int = 32) -> None:
        if dim < 2:
            from ssl4rec.errors import ConfigError

            raise ConfigError(f"HashTextEncoder.dim must be ≥ 2; got {dim!r}")
        self.dim = dim
        self.name = f"hash-{dim}"
        self.calls = 0
        self.num_encoded = 0

    def __repr__(self) -> str:
        return f"HashTextEncoder(dim={self.dim})"

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        progress: bool | None = None,
    ) -> np.ndarray:
        """Encode texts; see the class docstring.

        Args:
            texts: The texts.
            batch_size: Ignored (kept for the protocol).
            progress: Ignored (kept for the protocol).

        Returns:
            float32 array ``(len(texts), dim)`` with unit-length rows.
        """
        self.calls += 1
        self.num_encoded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(str(text).lower()):
                code = int.from_bytes(
                    hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little"
                )
                out[row, code % self.dim] += 1.0 if (code >> 32) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1)
        empty = norms == 0
        out[empty, 0] = 1.0  # a fixed unit vector for texts without words
        norms[empty] = 1.0
        out /= norms[:, None]
        return out


class RandomScorer(FixedScorer):
    """Uniform random scores for every item; satisfies the evaluator's ``Scorer``.

    The chance-level reference of the planted-signal test: a threshold that this
    scorer reaches shows nothing about what a model learned. User u's scores are
    drawn from a generator seeded with ``(seed, u)``, so they do not depend on which
    other users are scored in the same batch, and scores ignore histories.

    Args:
        train: The training events (sizes, the popularity the evaluator reports,
            the item table).
        seed: Seed of the scores (≥ 0).

    Attributes:
        seed: Seed of the scores.
    """

    name: ClassVar[str] = "random"
    is_sequential: ClassVar[bool] = False

    def __init__(self, train: Interactions, *, seed: int = 0) -> None:
        if seed < 0:
            from ssl4rec.errors import ConfigError

            raise ConfigError(f"RandomScorer.seed must be ≥ 0; got {seed!r}")
        super().__init__(train)
        self.seed = seed

    def __repr__(self) -> str:
        return f"RandomScorer(seed={self.seed})"

    def score(self, users: np.ndarray) -> torch.Tensor:
        """Uniform [0, 1) scores.

        Args:
            users: User indices, shape ``(n,)``.

        Returns:
            float32 tensor ``(n, num_items)``.
        """
        rows = [
            np.random.default_rng((self.seed, int(u))).random(self.num_items, dtype=np.float32)
            for u in np.asarray(users, dtype=np.int64)
        ]
        if not rows:
            return torch.zeros((0, self.num_items), dtype=torch.float32)
        return torch.from_numpy(np.stack(rows))

