"""Model compression: quantization, pruning, distillation and ONNX export.

``compress_run`` turns a trained run folder into a smaller or faster one that
``evaluate``, ``recommend``, ``serve`` and ``explain`` read unchanged (the CLI is
``ssl4rec compress RUN_DIR --method M --out NEW_RUN_DIR``). See docs/compression.md.
"""

from __future__ import annotations

from ssl4rec.compress.config import METHODS, CompressConfig, Method
from ssl4rec.compress.run import compress_run, model_size_bytes
from ssl4rec.compress.support import check_method, supported_methods

__all__ = [
    "METHODS",
    "CompressConfig",
    "Method",
    "check_method",
    "compress_run",
    "model_size_bytes",
    "supported_methods",
]
