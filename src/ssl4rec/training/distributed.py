"""Data-parallel training through ``torch.distributed`` (DistributedDataParallel).

The generic trainer runs unchanged under ``torchrun --nproc_per_node N`` (or
``ssl4rec train --nproc N``, which calls torchrun's launcher): when the launcher's
environment (``WORLD_SIZE`` > 1) is present, ``Trainer.fit`` asks ``setup`` for a
``Replicas`` and then

- joins the process group (``gloo`` on CPU, ``nccl`` when training on CUDA) with a
  collective timeout (``TrainConfig.dist_timeout_s``), so a killed or stuck rank ends
  the job with ``DistributedError`` instead of a hang;
- wraps the model's trainable modules in one ``DistributedDataParallel`` whose forward
  is the model's ``training_step``: gradients are averaged across ranks in backward
  and every rank steps the same weights (rank 0's initial weights are broadcast);
- shards the training users each epoch with ``DistributedSampler`` (reshuffled per
  epoch from the model seed): a rank trains on its users' events only, with
  ``DistributedDataParallel.join`` absorbing ranks that run out of batches first;
- draws each rank's dropout and negative samples from a seed of (model seed, epoch,
  rank), so a resumed run continues exactly as an uninterrupted one on every rank;
- validates on a shard of the validation users per rank and sums the metric over
  ranks, so every rank sees the same value and stops at the same epoch;
- leaves checkpoints, logs and plots to rank 0 (``is_writer``); every rank reads
  the run folder on resume (a folder all nodes see).

The effective batch is the per-rank ``batch_size`` × ``WORLD_SIZE``: N ranks with
``batch_size`` B take one optimizer step per N·B examples, as one process with
``batch_size`` N·B would. To keep a learning rate tuned on one process, divide
``batch_size`` by N; otherwise raise the learning rate with the global batch (linear
scaling, Goyal et al. 2017) and watch the validation curve. See docs/scaling.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import Ssl4recError
from ssl4rec.evaluation.evaluator import evaluate_interactions
from ssl4rec.training.trainable import Trainable

__all__ = [
    "DistributedError",
    "Replicas",
    "is_writer",
    "launch",
    "launched",
    "local_device",
    "setup",
    "shutdown",
    "world",
]

logger = logging.getLogger(__name__)


class DistributedError(Ssl4recError, RuntimeError):
    """A collective failed: a peer rank died, or did not answer within the timeout."""


def launched() -> bool:
    """Whether this process was started by a distributed launcher with more than one rank."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of the current process group, ``(0, 1)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_writer() -> bool:
    """Whether this process writes files: rank 0 (of the group, else of the launcher)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0


def shutdown() -> None:
    """Leave the process group, if this process joined one.

    The ranks first meet at a barrier, so that no rank closes its connections while
    another still finishes its last step or writes its files; a process that exits
    with its group still open leaves the teardown to the interpreter's exit, where a
    peer's closed socket can abort it.
    """
    if dist.is_available() and dist.is_initialized():
        if dist.get_world_size() > 1:
            dist.barrier()
        dist.destroy_process_group()


def launch(nproc: int, module: str, args: list[str]) -> None:
    """Run ``python -m module *args`` in ``nproc`` local processes through torchrun.

    Uses torchrun's own launcher (``torch.distributed.run``, standalone rendezvous on
    this host, no restarts): it sets each process's ``RANK``/``WORLD_SIZE``/
    ``MASTER_*`` environment, and when one process dies it stops the others. For
    several hosts, call ``torchrun --nnodes ... -m ssl4rec.cli.main train ...`` on
    each instead.

    Raises:
        DistributedError: a process failed (the message names its rank and exit code).
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    argv = ["--standalone", "--nproc-per-node", str(nproc), "--max-restarts", "0"]
    argv += ["-m", module, *args]
    try:
        run(parse_args(argv))
    except ChildFailedError as err:
        rank, failure = err.get_first_failure()
        raise DistributedError(
            f"{nproc}-process run of `{module} {' '.join(args)}` failed: rank {rank} "
            f"exited with code {failure.exitcode} (the other ranks were stopped); see its "
            f"messages above"
        ) from err


def local_device(device: torch.device) -> torch.device:
    """``cuda`` becomes ``cuda:LOCAL_RANK`` under a launcher (one GPU per rank)."""
    if device.type == "cuda" and device.index is None and launched():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def _backend(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def setup(model: Trainable, device: torch.device, timeout_s: float) -> Replicas | None:
    """Join the launcher's process group and wrap ``model``; ``None`` when not launched.

    Args:
        model: the built model whose ``modules()`` are trained.
        device: the device resolved for training (``cuda`` becomes ``cuda:LOCAL_RANK``).
        timeout_s: seconds a collective may wait for the other ranks.

    Raises:
        DistributedError: the process group cannot be formed.
    """
    if not (dist.is_available() and (dist.is_initialized() or launched())):
        return None
    if not dist.is_initialized():
        try:
            dist.init_process_group(_backend(device), timeout=timedelta(seconds=timeout_s))
        except (RuntimeError, ValueError) as err:
            raise DistributedError(
                f"could not join the process group (MASTER_ADDR="
                f"{os.environ.get('MASTER_ADDR')!r}, MASTER_PORT={os.environ.get('MASTER_PORT')!r}, "
                f"WORLD_SIZE={os.environ.get('WORLD_SIZE')!r}): {_first_line(err)}"
            ) from err
    if dist.get_world_size() == 1:
        return None
    return Replicas(model, device)


class _Steps(nn.Module):
    """The model's trainable modules as one module whose forward is a training step."""

    def __init__(self, model: Trainable) -> None:
        super().__init__()
        self.model = [model]  # a list: not registered as a submodule
        self.parts = nn.ModuleDict(dict(model.modules()))

    def forward(self, batch: Any, phase: str | None) -> Mapping[str, torch.Tensor]:
        """Named loss terms of one batch (``Trainable.training_step``)."""
        return self.model[0].training_step(batch, phase)


@dataclass
class _Shard:
    epoch: int
    data: Interactions


class Replicas:
    """One rank of a data-parallel run: the wrapped step, the shards and the collectives.

    Built by ``setup``; ``Trainer.fit`` calls its methods.
    """

    def __init__(self, model: Trainable, device: torch.device) -> None:
        from torch.nn.parallel import DistributedDataParallel

        self.rank, self.world_size = world()
        self.device = device
        ids = [device.index] if device.type == "cuda" and device.index is not None else None
        # find_unused_parameters: multi-phase models (GANs, RecVAE) leave parts of the
        # network out of some phases' graphs
        with self.guard("wrapping the model"):
            self.ddp = DistributedDataParallel(
                _Steps(model).to(device), device_ids=ids, find_unused_parameters=True
            )
        self._shard: _Shard | None = None

    # ------------------------------------------------------------------ training
    def step(self, batch: Any, phase: str | None) -> Mapping[str, torch.Tensor]:
        """``model.training_step`` through DDP (its backward averages gradients)."""
        return self.ddp(batch, phase)

    def joined(self, batches: Iterable[Any]) -> Iterator[Any]:
        """``batches`` inside ``DistributedDataParallel.join``.

        Ranks may have different numbers of batches; one that runs out shadows the
        others' collectives until all are done.
        """
        with self.ddp.join():
            yield from batches

    def shard(self, train: Interactions, epoch: int, seed: int) -> Interactions:
        """This rank's share of ``train``: the events of its users for ``epoch``.

        Users are dealt by ``torch.utils.data.DistributedSampler`` reshuffled with
        ``seed`` and ``epoch``; every rank gets ``ceil(users / world_size)`` of them.
        """
        from torch.utils.data import DistributedSampler

        if self._shard is not None and self._shard.epoch == epoch:
            return self._shard.data
        users = range(train.num_users)
        sampler: DistributedSampler[int] = DistributedSampler(
            users,  # type: ignore[arg-type]  # a sized sequence of user indices
            num_replicas=self.world_size,
            rank=self.rank,
            shuffle=True,
            seed=seed,
        )
        sampler.set_epoch(epoch)
        mine = np.zeros(train.num_users, dtype=bool)
        mine[np.fromiter(iter(sampler), dtype=np.int64)] = True
        data = train.select(mine[train.users])
        self._shard = _Shard(epoch, data)
        return data

    def seed_epoch(self, generator: torch.Generator, seed: int, epoch: int) -> None:
        """Seed this rank's sampling for ``epoch`` from (seed, epoch, rank)."""
        digest = hashlib.sha256(f"{seed}/{epoch}/{self.rank}".encode()).digest()
        value = int.from_bytes(digest[:8], "little") & (2**63 - 1)
        generator.manual_seed(value)
        torch.manual_seed(value)

    # ------------------------------------------------------------------ agreement
    def mean(self, values: Mapping[str, float]) -> dict[str, float]:
        """Mean of each named value over the ranks (every rank passes the same names)."""
        names = sorted(values)
        with self.guard("averaging the losses"):
            t = torch.tensor([values[k] for k in names], dtype=torch.float64, device=self.device)
            dist.all_reduce(t)
        return {k: float(v) / self.world_size for k, v in zip(names, t.tolist(), strict=True)}

    def any(self, flag: bool) -> bool:
        """Whether any rank passes True (so that every rank takes the same decision)."""
        with self.guard("agreeing to stop"):
            t = torch.tensor([float(flag)], device=self.device)
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def validate(
        self,
        model: Trainable,
        valid: Interactions,
        seen: Any,
        monitor: str,
        batch_size: int,
    ) -> float:
        """``monitor`` over all validation users, each rank scoring every N-th of them."""
        users = np.unique(valid.users)[self.rank :: self.world_size]
        total = 0.0
        if len(users):
            result = evaluate_interactions(
                model,
                valid,
                seen=seen,
                metrics=(monitor,),
                batch_size=batch_size,
                users=users,
            )
            total = float(result.metrics[monitor]) * len(users)
        with self.guard("gathering the validation metric"):
            t = torch.tensor([total, float(len(users))], dtype=torch.float64, device=self.device)
            dist.all_reduce(t)
        return float(t[0] / t[1]) if t[1] > 0 else float("nan")

    @contextlib.contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Turn a failed collective into one clear ``DistributedError``."""
        try:
            yield
        except dist.DistError as err:
            raise self._error(what, err) from err
        except RuntimeError as err:
            text = str(err).lower()
            if not any(k in text for k in ("gloo", "nccl", "connection", "timed out", "timeout")):
                raise
            raise self._error(what, err) from err

    def _error(self, what: str, err: BaseException) -> DistributedError:
        return DistributedError(
            f"rank {self.rank} of {self.world_size}: a collective failed while {what}: "
            f"another rank stopped (killed or crashed) or did not answer within "
            f"TrainConfig.dist_timeout_s; the job stops ({_first_line(err)})"
        )


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
