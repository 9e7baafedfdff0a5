"""Checkpoint files carry the digest of their tensors; damaged ones are refused by name."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

import pytest

from ssl4rec.errors import DataError
from ssl4rec.models.mult_vae import MultVAE, MultVAEConfig
from ssl4rec.testing.synthetic import block_split
from ssl4rec.training.checkpoint import RunFolder, read_verified_tensors, tensor_digest
from ssl4rec.training.trainer import TrainConfig

VAE = MultVAEConfig(
    hidden_dims=(16,), embedding_dim=8, batch_size=16, learning_rate=1e-2, epochs=2
)


def _fit(run: Path, *, epochs: int, resume: bool = False) -> MultVAE:
    split = block_split()
    config = TrainConfig(
        progress=False, device="cpu", num_threads=1, patience=None, run_dir=str(run), resume=resume
    )
    return MultVAE(replace(VAE, epochs=epochs)).fit(
        split.train, valid=split.valid, train_config=config
    )


def _overwrite_tail(path: Path, size: int) -> None:
    """Overwrite the last ``size`` bytes (tensor data, after the header), keeping the size."""
    data = bytearray(path.read_bytes())
    data[-size:] = b"\x7f" * size
    path.write_bytes(bytes(data))


def test_digest_round_trip_and_change_detection(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    tensors = {"a": torch.arange(6, dtype=torch.float32), "b": torch.ones(2, 2)}
    run.write_tensors("t.safetensors", tensors)
    back = run.read_tensors("t.safetensors")
    assert tensor_digest(back) == tensor_digest(tensors)
    assert tensor_digest({"a": torch.zeros(3)}) != tensor_digest({"a": torch.zeros(4)})
    _overwrite_tail(tmp_path / "t.safetensors", 8)
    with pytest.raises(DataError, match=r"t\.safetensors.*sha256"):
        run.read_tensors("t.safetensors")


def test_non_finite_tensors_are_refused(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    run.write_tensors("nan.safetensors", {"w": torch.tensor([1.0, float("nan")])})
    with pytest.raises(DataError, match=r"nan\.safetensors.*'w'.*NaN"):
        read_verified_tensors(tmp_path / "nan.safetensors")


def test_resume_refuses_an_overwritten_best_checkpoint(tmp_path: Path) -> None:
    _fit(tmp_path, epochs=1)
    _overwrite_tail(tmp_path / "best.safetensors", 64)
    with pytest.raises(DataError, match=r"best\.safetensors"):
        _fit(tmp_path, epochs=2, resume=True)


@pytest.mark.parametrize("name", ["best.safetensors", "last.safetensors"])
def test_resume_refuses_a_truncated_checkpoint(tmp_path: Path, name: str) -> None:
    _fit(tmp_path, epochs=1)
    path = tmp_path / name
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DataError, match=rf"{name.replace('.', '[.]')}: cannot read the tensors"):
        _fit(tmp_path, epochs=2, resume=True)

