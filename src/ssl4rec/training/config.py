"""Settings of the training loop (``TrainConfig``); importing it imports no torch.

``ssl4rec.training.trainer`` re-exports it; an experiment config reads it from here,
so that loading and validating a config does not import torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ssl4rec.config.base import Checks

__all__ = ["TrainConfig"]


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Settings of the training loop.

    Model hyperparameters live in the model config, among them the epoch limit
    (``model.epochs``) and the seed of batch order, dropout and sampling
    (``model.seed``); the trainer reads both from there.
    """

    renamed_fields: ClassVar[dict[str, str]] = {"max_epochs": "model.epochs", "seed": "model.seed"}
    """Former fields and where their setting lives now (a config naming one is refused)."""

    time_budget_s: float | None = None
    """Seconds of training (validation included) after which the run stops: checked
    after every batch, so the epoch running then ends early (it is validated and
    logged with ``partial: true``); ``None`` = no limit."""
    patience: int | None = 10
    """Validations without improvement before stopping; ``None`` = never stop early."""
    monitor: str = "ndcg@10"
    """Validation metric for early stopping and the best checkpoint (higher is better)."""
    eval_every: int = 1
    """Validate every this many epochs (and after the last one)."""
    num_threads: int | None = 1
    """torch CPU threads during training. One (the default) degrades gracefully when
    other jobs share the cores, where torch's multi-threaded kernels slow down many
    times over; set the core count on an otherwise idle machine for more speed, or
    ``None`` to leave torch's current setting."""
    device: str = "auto"
    """``"auto"``, ``"cpu"`` or ``"cuda"``; auto = SSL4REC_DEVICE env, else cuda if available."""
    run_dir: str | None = None
    """Folder for config, log.jsonl, checkpoints and curves.png; ``None`` = no files."""
    checkpoint: bool = True
    """Write best/last checkpoints into ``run_dir``."""
    resume: bool = False
    """Continue from ``run_dir``'s last checkpoint (refused if the run differs)."""
    progress: bool | None = None
    """Progress bar; ``None`` = on when stderr is a terminal."""
    grad_clip: float | None = None
    """Clip the global gradient norm per step to this value; ``None`` = off."""
    eval_batch_size: int = 1024
    """Users scored at once during validation."""
    dist_timeout_s: float = 300.0
    """Distributed runs (torchrun / ``--nproc``): seconds a collective waits for the
    other ranks before the job fails with a clear error (a killed or stuck rank)."""

    def __post_init__(self) -> None:
        checks = Checks(type(self).__name__)
        checks.positive("time_budget_s", self.time_budget_s)
        checks.positive("patience", self.patience)
        checks.positive("eval_every", self.eval_every)
        checks.positive("num_threads", self.num_threads)
        checks.positive("grad_clip", self.grad_clip)
        checks.positive("eval_batch_size", self.eval_batch_size)
        checks.positive("dist_timeout_s", self.dist_timeout_s)
        base = self.device.split(":", 1)[0]
        if base not in ("auto", "cpu", "cuda") or (base == "auto" and ":" in self.device):
            checks.fail("device", "one of ['auto', 'cpu', 'cuda']", self.device)
        if "@" not in self.monitor:
            checks.fail("monitor", "a metric at a cut-off such as 'ndcg@10'", self.monitor)
        if self.resume and self.run_dir is None:
            checks.fail("run_dir", "set when resume is true", self.run_dir)
        checks.raise_if_any()
