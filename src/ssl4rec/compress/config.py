"""What ``ssl4rec compress`` does, as a typed, validated config (imports no torch).

``CompressConfig`` names the method and its settings; every field is checked on
creation and all problems are reported together, each naming its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from ssl4rec.config.base import Checks

__all__ = ["METHODS", "CompressConfig", "Method"]

Method = Literal[
    "int8",
    "int8-dynamic",
    "int8-embeddings",
    "int8-weight-only",
    "fp16",
    "bf16",
    "prune",
    "prune-structured",
    "distill",
    "onnx",
]
METHODS: tuple[str, ...] = get_args(Method)
"""Every compression method; ``ssl4rec.compress.supported_methods`` says which fit a model."""


@dataclass(frozen=True, kw_only=True)
class CompressConfig:
    """Settings of one compression.

    Methods:
        ``int8-dynamic``: every ``nn.Linear`` runs as dynamic int8
        (``torch.ao.quantization.quantize_dynamic``, per-channel weights), stored int8.
        ``int8-embeddings``: item tables stored as row-wise int8 with per-row scales;
        a sequential model's ID table stays int8 in memory, dequantized when scored.
        ``int8``: both. ``int8-weight-only``: every ``nn.Linear`` weight and item
        table stored as row-wise (per output channel) int8, kept int8 in memory and
        dequantized when used; activations stay float. ``fp16`` / ``bf16``: every float tensor stored in half
        precision (computed in float32). ``prune`` / ``prune-structured``: magnitude
        pruning to ``sparsity`` (unstructured; or FFN neurons and attention heads of
        Transformers) with ``torch.nn.utils.prune``, then a short fine-tune with early
        stopping; zeros left out of the file. ``distill``: a smaller student trained on
        the teacher's softmax over the catalog. ``onnx``: the scoring path exported to
        ONNX (checked against torch) for ``ssl4rec serve --backend onnx``.
    """

    method: Method
    """The compression method (one of ``METHODS``)."""
    sparsity: float = 0.5
    """prune: share of the pruned tensors' weights set to zero, in (0, 1)."""
    finetune_epochs: int = 10
    """prune / distill: epoch limit of the fine-tune or the student's training."""
    patience: int | None = None
    """prune / distill: early-stopping patience (None: the run's train.patience)."""
    time_budget_s: float | None = None
    """prune / distill: seconds of training at most (None: no limit)."""
    student_dim: int = 32
    """distill: the student's embedding_dim."""
    student_layers: int = 1
    """distill: the student's num_layers."""
    student_heads: int = 1
    """distill: the student's num_heads (must divide student_dim)."""
    student_ff_dim: int = 64
    """distill: the student's ff_dim."""
    text_dim: int = 32
    """distill, text models: PCA width of the teacher's text vectors the student reads."""
    alpha: float = 0.5
    """distill: weight of the distillation term; 1 - alpha weighs the ground-truth loss. In [0, 1]."""
    temperature: float = 2.0
    """distill: softmax temperature of teacher and student (> 0)."""
    onnx_check_histories: int = 256
    """onnx: random histories the exported graph is checked on against torch."""
    seed: int = 0
    """Seed of the fine-tune / student and of the ONNX check histories."""

    def __post_init__(self) -> None:
        checks = Checks(type(self).__name__)
        checks.one_of("method", self.method, METHODS)
        checks.in_range("sparsity", self.sparsity, 0.0, 1.0, low_open=True, high_open=True)
        checks.positive_fields(
            self,
            "finetune_epochs",
            "student_dim",
            "student_layers",
            "student_heads",
            "student_ff_dim",
            "text_dim",
            "temperature",
            "onnx_check_histories",
        )
        checks.positive("patience", self.patience)
        checks.positive("time_budget_s", self.time_budget_s)
        checks.in_range("alpha", self.alpha, 0.0, 1.0)
        checks.non_negative("seed", self.seed)
        if self.student_heads > 0:
            checks.divides("student_heads", self.student_heads, "student_dim", self.student_dim)
        checks.raise_if_any()
