"""``compress_run``: turn a trained run folder into a compressed one.

The new folder has the layout of ``ssl4rec train``'s (``config.yaml`` + ``model/``),
so ``evaluate``, ``recommend``, ``serve`` and ``explain`` read it unchanged. What was
done is recorded under ``compression`` in ``model/meta.json`` (and so in the
server's ``/model-info``) and in ``compression.json`` beside it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from ssl4rec.compress.config import CompressConfig
from ssl4rec.compress.distill import distill, parameter_count
from ssl4rec.compress.onnx_export import ONNX_FILE, check_export, export_onnx, onnx_session
from ssl4rec.compress.prune import finetune_pruned, prune_model, sparsity_report
from ssl4rec.compress.quantize import quantization_plan
from ssl4rec.compress.support import check_method
from ssl4rec.errors import ConfigError, DataError
from ssl4rec.models.base import Recommender, load_model
from ssl4rec.models.nn.sequential import SequentialRecommender
from ssl4rec.models.persistence import save_model
from ssl4rec.training.trainer import TrainConfig

__all__ = ["compress_run", "model_size_bytes"]

logger = logging.getLogger(__name__)

_BITS = {"int8": 8, "int8-dynamic": 8, "int8-embeddings": 8, "int8-weight-only": 8, "fp16": 16, "bf16": 16}


def model_size_bytes(model_dir: str | Path) -> int:
    """Bytes of a saved model's weights (``weights.safetensors`` and an ONNX graph)."""
    model_dir = Path(model_dir)
    return sum(
        (model_dir / name).stat().st_size
        for name in ("weights.safetensors", ONNX_FILE)
        if (model_dir / name).is_file()
    )


def _model_dir(run_dir: Path) -> tuple[Path, Path | None]:
    """``(model folder, run config or None)`` of a run folder or a bare model folder."""
    if (run_dir / "model" / "meta.json").is_file():
        config = run_dir / "config.yaml"
        return run_dir / "model", config if config.is_file() else None
    if (run_dir / "meta.json").is_file():
        return run_dir, None
    raise DataError(f"{run_dir}: not a run folder (config.yaml + model/) nor a saved model folder")


def compress_run(
    run_dir: str | Path, out_dir: str | Path, config: CompressConfig
) -> dict[str, Any]:
    """Compress the model of ``run_dir`` into ``out_dir``.

    Args:
        run_dir: a run folder written by ``ssl4rec train`` (pruning and distillation
            need its ``config.yaml`` to rebuild the training split), or a model folder.
        out_dir: the new run folder (created; must not hold a model already).
        config: the method and its settings.

    Returns:
        The compression record (also in ``model/meta.json`` and ``compression.json``).

    Raises:
        ConfigError: a method the model does not support (the supported ones listed),
            an already compressed model, or an ``out_dir`` that holds a model.
        DataError: ``run_dir`` is not a run or model folder.
    """
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    model_dir, run_config = _model_dir(run_dir)
    if (out_dir / "model").exists() or out_dir.resolve() == run_dir.resolve():
        raise ConfigError(f"compress: --out {out_dir} already holds a model; choose a new folder")
    meta = json.loads((model_dir / "meta.json").read_text(encoding="utf-8"))
    if meta.get("compression"):
        raise ConfigError(
            f"compress: {model_dir} is already compressed ({meta['compression'].get('method')}); "
            "compress the float run instead"
        )
    model = load_model(model_dir)
    check_method(model, config.method)
    method = config.method
    start = time.perf_counter()
    record: dict[str, Any] = {
        "method": method,
        "source": str(run_dir),
        "params_before": parameter_count(model),
        "bytes_before": model_size_bytes(model_dir),
    }
    if method in _BITS:
        record["bits"] = _BITS[method]
    experiment = _experiment(run_config) if run_config is not None else None
    saved: Recommender[Any] = model
    pack: dict[str, str] = {}
    attach: dict[str, Path] = {}
    tmp = Path(tempfile.mkdtemp(prefix="ssl4rec-compress-"))
    if method in _BITS:
        pack, runtime = quantization_plan(model, method)
        record["runtime"] = runtime
        record["packed_tensors"] = len(pack)
    elif method in ("prune", "prune-structured"):
        split, train_config = _training(experiment, config, method)
        masks = prune_model(
            model, sparsity=config.sparsity, structured=method == "prune-structured"
        )
        record["sparsity"] = config.sparsity
        record["structured"] = method == "prune-structured"
        record["finetune"] = finetune_pruned(
            model, masks, split, train_config, epochs=config.finetune_epochs
        )
        record.update(sparsity_report(model, masks))
        pack = dict.fromkeys(masks, "sparse")
    elif method == "distill":
        assert isinstance(model, SequentialRecommender)
        split, train_config = _training(experiment, config, method)
        saved = distill(model, split, config, train_config)
        record["teacher"] = str(run_dir)
        record["teacher_params"] = record["params_before"]
        record["student"] = {
            k: getattr(config, k)
            for k in (
                "student_dim",
                "student_layers",
                "student_heads",
                "student_ff_dim",
                "alpha",
                "temperature",
            )
        }
        if saved.config.item_repr != "id":
            record["student"]["text_dim"] = config.text_dim
            record["student"]["text_reduction"] = "pca"
        record["finetune"] = saved.train_summary
    elif method == "onnx":
        path = export_onnx(model, tmp / ONNX_FILE)
        record["onnx"] = {
            "file": ONNX_FILE,
            **check_export(
                model, onnx_session(path), histories=config.onnx_check_histories, seed=config.seed
            ),
        }
        attach[ONNX_FILE] = path
    record["params_after"] = parameter_count(saved)
    record["seconds"] = round(time.perf_counter() - start, 3)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        save_model(
            saved, out_dir / "model", pack=pack, meta_extra={"compression": record}, attach=attach
        )
    finally:
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()
    record["bytes_after"] = model_size_bytes(out_dir / "model")
    if experiment is not None:
        if method == "distill":
            experiment = dataclasses.replace(experiment, model_name=saved.name, model=saved.config)
        experiment.to_yaml(out_dir / "config.yaml")
    (out_dir / "compression.json").write_text(
        json.dumps(record, indent=2, default=str), encoding="utf-8"
    )
    logger.info(
        "compressed %s -> %s: %s, %d -> %d bytes",
        run_dir,
        out_dir,
        method,
        record["bytes_before"],
        record["bytes_after"],
    )
    return record


def _experiment(path: Path) -> Any:
    from ssl4rec.runner.experiment import load_experiment

    return load_experiment(path)


def _training(experiment: Any, config: CompressConfig, method: str) -> tuple[Any, TrainConfig]:
    """The run's split and the train settings of a fine-tune (no checkpoints, no resume)."""
    if experiment is None:
        raise ConfigError(
            f"compress --method {method} trains: give a run folder with config.yaml "
            "(its data and split are used), not a bare model folder"
        )
    from ssl4rec.runner import load_data, make_experiment_split

    split = make_experiment_split(load_data(experiment.data), experiment.split)
    train: TrainConfig = experiment.train
    changes: dict[str, Any] = {"run_dir": None, "resume": False, "progress": False}
    if config.patience is not None:
        changes["patience"] = config.patience
    if config.time_budget_s is not None:
        changes["time_budget_s"] = config.time_budget_s
    return split, dataclasses.replace(train, **changes)
