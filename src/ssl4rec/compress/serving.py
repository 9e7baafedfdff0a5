"""The ONNX Runtime backend of ``ssl4rec serve --backend onnx``.

A folder made by ``ssl4rec compress --method onnx`` carries ``model.onnx``; for any
other model folder the graph is exported at start-up into a temporary file.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from ssl4rec.compress.onnx_export import ONNX_FILE, export_onnx, onnx_session, with_onnx_backend
from ssl4rec.compress.support import supported_methods
from ssl4rec.errors import ConfigError
from ssl4rec.models.base import Recommender

__all__ = ["BACKENDS", "onnx_backed"]

logger = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx")


def onnx_backed(
    model: Recommender[Any], model_dir: Path, *, backend: str, threads: int | None = None
) -> Recommender[Any]:
    """``model`` scored by ONNX Runtime (``backend="onnx"``).

    Raises:
        ConfigError: an unknown backend, or a model without an ONNX scoring path.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"serve --backend must be one of {list(BACKENDS)}; got {backend!r}")
    if backend == "torch":
        return model
    if "onnx" not in supported_methods(model):
        raise ConfigError(
            f"serve --backend onnx: {type(model).__name__} has no ONNX scoring path; "
            f"its compression methods are {supported_methods(model)}"
        )
    path = Path(model_dir) / ONNX_FILE
    if not path.is_file():
        path = Path(tempfile.mkdtemp(prefix="ssl4rec-onnx-")) / ONNX_FILE
        logger.info("no %s in %s: exporting the scoring graph to %s", ONNX_FILE, model_dir, path)
        export_onnx(model, path)
    return with_onnx_backend(model, onnx_session(path, threads=threads))
