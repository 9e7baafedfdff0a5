"""Device resolution order: explicit > SSL4REC_DEVICE > cuda if available > cpu."""

from __future__ import annotations

import torch

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.training.device import DEVICE_ENV, resolve_device


def test_explicit_cpu_wins_over_env(monkeypatch) -> None:
    monkeypatch.setenv(DEVICE_ENV, "cuda")
    assert resolve_device("cpu") == torch.device("cpu")


def test_env_used_for_auto(monkeypatch) -> None:
    monkeypatch.setenv(DEVICE_ENV, "cpu")
    assert resolve_device("auto") == torch.device("cpu")


def test_auto_without_env(monkeypatch) -> None:
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


def test_bad_env_value_names_the_variable(monkeypatch) -> None:
    monkeypatch.setenv(DEVICE_ENV, "tpu")
    with pytest.raises(ConfigError, match=DEVICE_ENV):
        resolve_device("auto")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_device_is_refused() -> None:
    with pytest.raises(ConfigError, match="no CUDA device"):
        resolve_device("cuda")
