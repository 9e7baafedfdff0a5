"""Tests for the ItemTextEncoder protocol and the HashTextEncoder fake."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.testing.fakes import HashTextEncoder
from ssl4rec.text.encoder import ItemTextEncoder


def test_fake_satisfies_protocol() -> None:
    assert isinstance(HashTextEncoder(), ItemTextEncoder)


def test_fake_output_contract() -> None:
    enc = HashTextEncoder(dim=32)
    out = enc.encode(["Toy Story", "", "!!!", "Toy Story"])
    assert out.shape == (4, 32) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(out[0], out[3])
    np.testing.assert_array_equal(
        out, HashTextEncoder(dim=32).encode(["Toy Story", "", "!!!", "Toy Story"])
    )


def test_fake_similar_texts_are_closer() -> None:
    out = HashTextEncoder(dim=64).encode(
        ["toy story animation comedy", "toy story 2 animation comedy", "heat crime thriller"]
    )
    assert out[0] @ out[1] > out[0] @ out[2]


def test_fake_rejects_tiny_dim() -> None:
    with pytest.raises(ConfigError, match="HashTextEncoder.dim"):
        HashTextEncoder(dim=1)


def test_import_is_light() -> None:
    # importing ssl4rec.text must not pull in torch or sentence-transformers
    code = (
        "import sys, ssl4rec.text; "
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers', 'peft') "
        "if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
