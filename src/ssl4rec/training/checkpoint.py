"""The run folder: config, epoch log, best/last checkpoints, curves; never pickle.

Layout of ``run_dir``::

    config.yaml          train config, model name + config, fingerprint
    log.jsonl            one JSON object per epoch (losses, validation metric, seconds)
    best.safetensors     model tensors of the best epoch
    last.safetensors     model, optimizer and RNG tensors after the last finished epoch
    last.json            the scalar rest of that state (epoch, optimizer structure, ...)
    metrics.json         the final training summary
    curves.png           loss and validation metric per epoch

Every file is written to a temporary name and moved into place with ``os.replace``,
so an interruption leaves either the old or the new file, never half of one. Each
safetensors file carries the sha256 of its tensors in its header (``tensor_digest``);
reading verifies it and that every float tensor is finite, so a file changed or
damaged after it was written is refused with its name instead of training on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ssl4rec.config.base import to_dict
from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import ConfigError, DataError
from ssl4rec.training.trainable import Trainable

__all__ = [
    "RunFolder",
    "check_finite",
    "read_verified_tensors",
    "tensor_digest",
    "data_fingerprint",
    "model_tensors",
    "load_model_tensors",
    "optimizer_to_flat",
    "optimizer_from_flat",
]

logger = logging.getLogger(__name__)

# model config fields that only bound the run length; a resume may change them
_LENGTH_FIELDS = ("epochs",)


def data_fingerprint(data: Interactions) -> str:
    """SHA-256 over the events and vocabulary sizes (identifies the training data)."""
    digest = hashlib.sha256()
    digest.update(f"{data.num_users},{data.num_items},{len(data)}".encode())
    for arr in (data.users, data.items, data.weights, data.timestamps):
        digest.update(np.ascontiguousarray(arr).tobytes())
    return digest.hexdigest()


def run_fingerprint(
    model: Trainable, data: Interactions, train_settings: Mapping[str, Any]
) -> dict[str, Any]:
    """What must match for a resume: model name + config, data hash, train settings."""
    config = {k: v for k, v in to_dict(model.config).items() if k not in _LENGTH_FIELDS}
    return {
        "model": model.name,
        "model_config": json.loads(json.dumps(config, sort_keys=True)),
        "data": data_fingerprint(data),
        "train": json.loads(json.dumps(dict(train_settings), sort_keys=True)),
    }


def model_tensors(model: Trainable) -> dict[str, torch.Tensor]:
    """Module state dicts and extra state as one flat CPU tensor mapping."""
    tensors: dict[str, torch.Tensor] = {}
    for name, module in model.modules().items():
        for key, value in module.state_dict().items():
            tensors[f"model.{name}.{key}"] = value.detach().cpu().clone().contiguous()
    if model.is_fitted:
        for key, value in model.extra_state().items():
            tensors[f"extra.{key}"] = value.detach().cpu().clone().contiguous()
    return tensors


def load_model_tensors(model: Trainable, tensors: Mapping[str, torch.Tensor]) -> None:
    """Inverse of ``model_tensors`` (modules keep their device)."""
    for name, module in model.modules().items():
        prefix = f"model.{name}."
        state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        module.load_state_dict(state)
    extra = {k[len("extra.") :]: v for k, v in tensors.items() if k.startswith("extra.")}
    if extra:
        model.load_extra_state(extra)


def optimizer_to_flat(
    name: str, optimizer: torch.optim.Optimizer
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer state dict into tensors (safetensors) and plain data (JSON)."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, pstate in state["state"].items():
        for key, value in pstate.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{name}.{pid}.{key}"] = value.detach().cpu().clone().contiguous()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    groups = [_plain(g) for g in state["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def optimizer_from_flat(
    name: str,
    optimizer: torch.optim.Optimizer,
    tensors: Mapping[str, torch.Tensor],
    plain: Mapping[str, Any],
) -> None:
    """Inverse of ``optimizer_to_flat``."""
    prefix = f"optim.{name}."
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix):
            pid, field = key[len(prefix) :].split(".", 1)
            state.setdefault(int(pid), {})[field] = value
    for pid, fields in plain.get("scalars", {}).items():
        state.setdefault(int(pid), {}).update(fields)
    groups = [dict(g) for g in plain["param_groups"]]
    for group in groups:
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    return value


def _atomic_write_bytes(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class RunFolder:
    """Reads and writes the files of one training run (see the module docstring)."""

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory)
        self.path.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ writing
    def write_text(self, name: str, text: str) -> None:
        """Write a text file into the run folder atomically."""
        def write(tmp: str) -> None:
            Path(tmp).write_text(text, encoding="utf-8")

        _atomic_write_bytes(self.path / name, write)

    def write_json(self, name: str, data: Any) -> None:
        """Write a JSON file into the run folder atomically."""
        self.write_text(name, json.dumps(data, indent=2, sort_keys=False) + "\n")

    def write_tensors(self, name: str, tensors: Mapping[str, torch.Tensor]) -> None:
        """Write a safetensors file into the run folder atomically, with its digest."""
        from safetensors.torch import save_file

        meta = {"sha256": tensor_digest(tensors)}
        _atomic_write_bytes(
            self.path / name, lambda tmp: save_file(dict(tensors), tmp, metadata=meta)
        )

    def read_tensors(self, name: str) -> dict[str, torch.Tensor]:
        """Read a safetensors file written by ``write_tensors``, verified.

        Raises:
            DataError: the file is unreadable, its tensors do not match the digest
                recorded when it was written, or a float tensor is not finite.
        """
        return read_verified_tensors(self.path / name)

    def write_log(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Rewrite ``log.jsonl`` with all epoch records so far."""
        self.write_text("log.jsonl", "".join(json.dumps(r) + "\n" for r in records))

    def write_curves(self, records: Sequence[Mapping[str, Any]], monitor: str) -> None:
        """``curves.png``: every loss term and the validation metric per epoch."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        if not records:
            return
        fig = Figure(figsize=(9, 3.6))
        FigureCanvasAgg(fig)
        ax_loss, ax_metric = fig.subplots(1, 2)
        epochs = [r["epoch"] for r in records]
        for key in records[-1]["losses"]:
            ax_loss.plot(epochs, [r["losses"].get(key, np.nan) for r in records], label=key)
        ax_loss.set_xlabel("epoch")
        ax_loss.set_title("training loss")
        ax_loss.legend(fontsize=7)
        points = [(r["epoch"], r[monitor]) for r in records if r.get(monitor) is not None]
        if points:
            ax_metric.plot(*zip(*points, strict=True), marker="o", markersize=3)
        ax_metric.set_xlabel("epoch")
        ax_metric.set_title(f"validation {monitor}")
        for ax in (ax_loss, ax_metric):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        fig.tight_layout()
        _atomic_write_bytes(self.path / "curves.png", lambda tmp: fig.savefig(tmp, format="png"))

    # ------------------------------------------------------------------ reading
    def has_last(self) -> bool:
        """Whether a complete last checkpoint exists."""
        return (self.path / "last.json").is_file() and (self.path / "last.safetensors").is_file()

    def read_last(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """The scalar state (``last.json``) and the tensors (``last.safetensors``)."""
        path = self.path / "last.json"
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise DataError(f"{path}: cannot read the last checkpoint: {err}") from None
        return meta, self.read_tensors("last.safetensors")

    def read_best(self) -> dict[str, torch.Tensor]:
        """Tensors of the best checkpoint (verified, see ``read_tensors``)."""
        return self.read_tensors("best.safetensors")


def check_fingerprint(saved: Mapping[str, Any], current: Mapping[str, Any], where: Path) -> None:
    """Refuse a resume whose model, config, data or train settings differ.

    Raises:
        ConfigError: naming what differs and how.
    """
    problems = []
    if saved.get("model") != current["model"]:
        problems.append(f"model {saved.get('model')!r} != {current['model']!r}")
    old_cfg, new_cfg = saved.get("model_config", {}), current["model_config"]
    for key in sorted(set(old_cfg) | set(new_cfg)):
        if old_cfg.get(key) != new_cfg.get(key):
            problems.append(f"model.{key}: {old_cfg.get(key)!r} != {new_cfg.get(key)!r}")
    if saved.get("data") != current["data"]:
        problems.append("training data differs (dataset fingerprint mismatch)")
    old_tr, new_tr = saved.get("train", {}), current["train"]
    for key in sorted(set(old_tr) | set(new_tr)):
        if old_tr.get(key) != new_tr.get(key):
            problems.append(f"train.{key}: {old_tr.get(key)!r} != {new_tr.get(key)!r}")
    if problems:
        raise ConfigError(
            f"cannot resume from {where}: the checkpoint belongs to a different run ("
            + "; ".join(problems)
            + "); use a new run_dir or resume=False"
        )


def tensor_digest(tensors: Mapping[str, torch.Tensor]) -> str:
    """Hex sha256 over the names, dtypes, shapes and bytes of ``tensors``, in name order."""
    digest = hashlib.sha256()
    for key in sorted(tensors):
        value = tensors[key].detach().cpu().contiguous()
        digest.update(f"{key}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.view(-1).view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()


def check_finite(tensors: Mapping[str, torch.Tensor], path: Path) -> None:
    """Refuse float tensors holding NaN or infinity, naming the file and the tensor.

    Raises:
        DataError: the first non-finite tensor found.
    """
    for key, value in tensors.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise DataError(f"{path}: tensor {key!r} holds NaN or infinite values")


def read_verified_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file; verify its recorded digest (if any) and finiteness.

    Raises:
        DataError: unreadable, altered since written, or non-finite, naming ``path``.
    """
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    try:
        with safe_open(str(path), framework="pt") as handle:
            recorded = (handle.metadata() or {}).get("sha256")
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise DataError(f"{path}: cannot read the tensors: {err}") from None
    if recorded is not None and tensor_digest(tensors) != recorded:
        raise DataError(
            f"{path}: the tensors do not match the sha256 recorded when the file was "
            "written: the file changed or is damaged"
        )
    check_finite(tensors, path)
    return tensors
