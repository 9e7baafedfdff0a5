"""Device resolution: explicit choice > ``SSL4REC_DEVICE`` environment variable > cuda > cpu."""

from __future__ import annotations

import os

import torch

from ssl4rec.errors import ConfigError

__all__ = ["DEVICE_ENV", "resolve_device"]

DEVICE_ENV = "SSL4REC_DEVICE"
_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(device: str = "auto") -> torch.device:
    """The torch device to train on.

    Args:
        device: ``"cpu"``, ``"cuda"`` (or ``"cuda:N"``), or ``"auto"``: then the
            ``SSL4REC_DEVICE`` environment variable if set, else cuda when available,
            else cpu.

    Raises:
        ConfigError: an unknown name, or cuda requested without a CUDA device.
    """
    source = "TrainConfig.device"
    if device == "auto":
        env = os.environ.get(DEVICE_ENV, "").strip()
        if env and env != "auto":
            device, source = env, DEVICE_ENV
        else:
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    base = device.split(":", 1)[0]
    if base not in _CHOICES or base == "auto":
        raise ConfigError(f"{source} must be one of {list(_CHOICES)}; got {device!r}")
    if base == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{source} is {device!r} but no CUDA device is available")
    return torch.device(device)
