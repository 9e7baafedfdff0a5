"""Seeds and random states without global side effects.

The trainer runs inside ``torch.random.fork_rng`` seeded from the run's seed, so
dropout and sampling inside models are reproducible and the caller's global state
is left as it was. Batch order comes from an explicit ``torch.Generator``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["capture_rng", "isolated_rng", "restore_rng"]


@contextmanager
def isolated_rng(seed: int, device: torch.device) -> Iterator[torch.Generator]:
    """Seed torch's global RNGs inside a fork; yield a CPU generator for batch order.

    Args:
        seed: The run's seed.
        device: The training device (its CUDA RNG is forked and seeded too).

    Yields:
        A ``torch.Generator`` seeded with ``seed``.
    """
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield torch.Generator().manual_seed(seed)


def capture_rng(generator: torch.Generator, device: torch.device) -> dict[str, torch.Tensor]:
    """RNG states as tensors (for the last checkpoint)."""
    state = {"rng.torch": torch.get_rng_state(), "rng.generator": generator.get_state()}
    if device.type == "cuda":
        state["rng.cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(
    state: dict[str, torch.Tensor], generator: torch.Generator, device: torch.device
) -> None:
    """Inverse of ``capture_rng``."""
    torch.set_rng_state(state["rng.torch"])
    generator.set_state(state["rng.generator"])
    if device.type == "cuda" and "rng.cuda" in state:
        torch.cuda.set_rng_state(state["rng.cuda"], device)
