"""One generic training loop for every neural model.

The loop asks the model for its optimizers (one per *phase*), the phases of each
epoch and one epoch of batches; it runs ``training_step`` per batch and phase, checks
the loss is finite, validates with the evaluator, early-stops on a monitored metric,
and keeps best/last checkpoints in a run folder so that an interrupted run resumes
to exactly the weights an uninterrupted run reaches.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ssl4rec.config.base import to_dict
from ssl4rec.config.yaml_io import dump_yaml
from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import ConfigError, TrainingDivergedError
from ssl4rec.evaluation.evaluator import evaluate_interactions
from ssl4rec.logging import progress
from ssl4rec.training import distributed
from ssl4rec.training.checkpoint import (
    RunFolder,
    check_fingerprint,
    load_model_tensors,
    model_tensors,
    optimizer_from_flat,
    optimizer_to_flat,
    run_fingerprint,
)
from ssl4rec.training.config import TrainConfig
from ssl4rec.training.device import resolve_device
from ssl4rec.training.seed import capture_rng, isolated_rng, restore_rng
from ssl4rec.training.step_hook import StepHook
from ssl4rec.training.trainable import EpochCallback, Trainable

__all__ = ["TrainConfig", "Trainer", "TrainingDivergedError"]

logger = logging.getLogger(__name__)


@dataclass
class _State:
    """Everything about a run's progress that a resume restores."""

    epoch: int = 0  # epochs finished
    best_metric: float | None = None
    best_epoch: int = 0
    bad_evals: int = 0
    seconds: float = 0.0
    time_to_best_s: float = 0.0
    records: list[dict[str, Any]] = dataclasses.field(default_factory=list)


class Trainer:
    """Fits a ``Recommender`` through its hooks (see ``models/base.py``).

    Example:
        >>> Trainer(TrainConfig(patience=5, run_dir="runs/vae")).fit(model, train, valid=valid)
    """

    def __init__(
        self,
        config: TrainConfig | None = None,
        *,
        callbacks: Sequence[EpochCallback] = (),
        step_hook: StepHook | None = None,
    ) -> None:
        self.config = config or TrainConfig()
        self.callbacks = list(callbacks)
        self._replicas: distributed.Replicas | None = None  # set while fitting under torchrun
        self.step_hook = step_hook
        """Takes over batches and steps (DP-SGD: ``ssl4rec.privacy.DPSGD``)."""

    # ------------------------------------------------------------------ public
    def fit(
        self,
        model: Trainable,
        train: Interactions,
        *,
        valid: Interactions | None = None,
    ) -> dict[str, Any]:
        """Train ``model`` (already built) on ``train``; early-stop on ``valid``.

        Returns:
            Summary: ``best_epoch``, ``best_metric``, ``epochs_run``, ``seconds``,
            ``seconds_per_epoch``, ``time_to_best_s``, ``stopped_reason``, ``device``.

        Raises:
            TrainingDivergedError: a NaN or infinite loss (the best weights are restored
                into the model and the best checkpoint file is left untouched).
            ConfigError: a resume whose run folder belongs to a different run.
        """
        cfg = self.config
        device = distributed.local_device(resolve_device(cfg.device))
        max_epochs = int(model.config.epochs)
        seed = int(model.config.seed)
        modules = model.modules()
        if not modules:
            raise ConfigError(f"{type(model).__name__} has no trainable modules to fit")
        for module in modules.values():
            module.to(device)
        optimizers = model.configure_optimizers()
        if not optimizers:
            raise ConfigError(f"{type(model).__name__}.configure_optimizers() returned none")
        if self.step_hook is not None:
            if cfg.resume:
                raise ConfigError("TrainConfig.resume is not supported for a private run")
            optimizers = dict(self.step_hook.attach(model, train, optimizers))
        settings = {"seed": seed, "grad_clip": cfg.grad_clip, "monitor": cfg.monitor}
        fingerprint = run_fingerprint(model, train, settings)
        run = RunFolder(cfg.run_dir) if cfg.run_dir is not None else None
        seen = train.csr() if valid is not None else None
        # under torchrun: DDP, user shards, agreed validation; rank 0 alone writes files
        if self.step_hook is not None and distributed.launched():
            raise ConfigError(
                "privacy: DP-SGD runs in one process; drop --nproc (or torchrun) for a "
                "private run"
            )
        replicas = self._replicas = distributed.setup(model, device, cfg.dist_timeout_s)
        writer = run if replicas is None or replicas.rank == 0 else None

        with _threads(cfg.num_threads), isolated_rng(seed, device) as generator:
            state = _State()
            best = model_tensors(model)  # in memory, so restoring needs no files
            if cfg.resume:
                assert run is not None
                state, best = self._resume(run, model, optimizers, generator, device, fingerprint)
            elif writer is not None:
                writer.write_text("config.yaml", self._config_yaml(model, fingerprint))
                writer.write_log([])
            reason = "max_epochs"
            if state.epoch >= max_epochs:
                reason = "already_done"
            if _should_stop_early(state, cfg):
                reason = "patience"
                max_epochs = state.epoch
            while state.epoch < max_epochs:
                epoch = state.epoch  # 0-based index of the epoch now running
                start = time.perf_counter()
                deadline = (
                    None
                    if cfg.time_budget_s is None or replicas is not None  # ranks cut together
                    else start + cfg.time_budget_s - state.seconds
                )
                try:
                    losses, cut = self._run_epoch(
                        model, train, optimizers, generator, device, epoch, deadline
                    )
                except TrainingDivergedError:
                    load_model_tensors(model, best)
                    for module in modules.values():
                        module.eval()
                    raise
                train_s = time.perf_counter() - start
                record: dict[str, Any] = {"epoch": epoch + 1, "losses": losses}
                if cut:
                    record["partial"] = True
                validate = valid is not None and (
                    (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == max_epochs or cut
                )
                improved = valid is None
                if validate:
                    assert valid is not None
                    eval_start = time.perf_counter()
                    value = self._validate(model, valid, seen)
                    record[cfg.monitor] = value
                    record["eval_seconds"] = round(time.perf_counter() - eval_start, 4)
                    improved = state.best_metric is None or value > state.best_metric
                    state.bad_evals = 0 if improved else state.bad_evals + 1
                state.epoch += 1
                state.seconds += time.perf_counter() - start
                record["train_seconds"] = round(train_s, 4)
                record["seconds"] = round(state.seconds, 4)
                if improved:
                    state.best_epoch = state.epoch
                    state.best_metric = record.get(cfg.monitor, state.best_metric)
                    state.time_to_best_s = state.seconds
                    best = model_tensors(model)
                state.records.append(record)
                self._log_epoch(record)
                if writer is not None:
                    self._write_epoch(
                        writer,
                        model,
                        optimizers,
                        generator,
                        device,
                        state,
                        best,
                        improved,
                        fingerprint,
                    )
                for callback in self.callbacks:
                    callback.on_epoch_end(model, record)
                if _should_stop_early(state, cfg):
                    reason = "patience"
                    break
                out_of_time = cfg.time_budget_s is not None and state.seconds >= cfg.time_budget_s
                if replicas is not None:
                    out_of_time = replicas.any(out_of_time)  # rank 0's clock may differ
                if cut or out_of_time:
                    reason = "time_budget"
                    break
            if valid is not None:
                load_model_tensors(model, best)
            for module in modules.values():
                module.eval()
        summary: dict[str, Any] = {
            "best_epoch": state.best_epoch,
            "best_metric": state.best_metric,
            "monitor": cfg.monitor if valid is not None else None,
            "epochs_run": state.epoch,
            "seconds": round(state.seconds, 4),
            "seconds_per_epoch": round(state.seconds / max(state.epoch, 1), 4),
            "time_to_best_s": round(state.time_to_best_s, 4),
            "stopped_reason": reason,
            "device": str(device),
            "processes": 1 if replicas is None else replicas.world_size,
        }
        if self.step_hook is not None:
            summary["privacy"] = self.step_hook.summary()
        logger.info(
            "training done: "
            + " ".join(f"{k}={_fmt(v)}" for k, v in summary.items() if v is not None)
        )
        if writer is not None:
            writer.write_json("metrics.json", summary)
            writer.write_curves(state.records, cfg.monitor)
        self._replicas = None
        return summary

    # ------------------------------------------------------------------ epoch
    def _run_epoch(
        self,
        model: Trainable,
        train: Interactions,
        optimizers: Mapping[str, torch.optim.Optimizer],
        generator: torch.Generator,
        device: torch.device,
        epoch: int,
        deadline: float | None = None,
    ) -> tuple[dict[str, float], bool]:
        """One epoch: each phase is one pass over ``model.batches``.

        Returns:
            The mean losses, and whether ``deadline`` (a ``time.perf_counter`` value)
            passed and cut the epoch short.
        """
        replicas = self._replicas
        if replicas is not None:
            seed = int(model.config.seed)
            replicas.seed_epoch(generator, seed, epoch)
            train = replicas.shard(train, epoch, seed)
            with replicas.guard(f"training epoch {epoch + 1}"):
                losses, cut = self._run_phases(model, train, optimizers, generator, device, epoch)
            return replicas.mean(losses), cut
        return self._run_phases(model, train, optimizers, generator, device, epoch, deadline)

    def _run_phases(
        self,
        model: Trainable,
        train: Interactions,
        optimizers: Mapping[str, torch.optim.Optimizer],
        generator: torch.Generator,
        device: torch.device,
        epoch: int,
        deadline: float | None = None,
    ) -> tuple[dict[str, float], bool]:
        model.on_epoch_start(epoch)
        modules = model.modules()
        for module in modules.values():
            module.train()
        phases = list(model.training_phases(epoch) or optimizers)
        totals: dict[str, float] = {}
        counts: dict[str, int] = {}
        for phase in phases:
            if phase not in optimizers:
                raise ConfigError(
                    f"{type(model).__name__}.training_phases returned {phase!r}; "
                    f"optimizers are {sorted(optimizers)}"
                )
            optimizer = optimizers[phase]
            params = [p for g in optimizer.param_groups for p in g["params"]]
            prefix = "" if len(optimizers) == 1 else f"{phase}."
            postfix: dict[str, object] = {}
            desc = f"epoch {epoch + 1}" + (f" {phase}" if prefix else "")
            replicas = self._replicas
            step = model.training_step if replicas is None else replicas.step
            hook = self.step_hook
            if hook is not None:
                batches = hook.batches(model, train)
            else:
                batches = model.batches(train, generator)
                if replicas is not None:
                    batches = replicas.joined(batches)
            for batch in progress(
                batches,
                desc=desc,
                enabled=self.config.progress,
                postfix=postfix,
            ):
                if hook is not None:  # the hook steps (DP-SGD); only the losses are kept here
                    hooked = hook.step(model, _to_device(batch, device), phase, optimizer)
                    for key, value in (hooked or {}).items():
                        totals[prefix + key] = totals.get(prefix + key, 0.0) + float(value)
                        counts[prefix + key] = counts.get(prefix + key, 0) + 1
                    if deadline is not None and time.perf_counter() >= deadline:
                        return {k: totals[k] / counts[k] for k in totals}, True
                    continue
                optimizer.zero_grad(set_to_none=True)
                terms = step(_to_device(batch, device), phase)
                loss = terms["loss"]
                if not torch.isfinite(loss.detach()).all():
                    raise TrainingDivergedError(
                        f"{type(model).__name__}: {prefix}loss is {loss.item()} at epoch "
                        f"{epoch + 1}; stopped (the best checkpoint so far is kept). Lower "
                        f"learning_rate or set TrainConfig.grad_clip"
                    )
                loss.backward()
                if self.config.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(params, self.config.grad_clip)
                optimizer.step()
                for key, value in terms.items():
                    name = prefix + key
                    totals[name] = totals.get(name, 0.0) + float(value.detach())
                    counts[name] = counts.get(name, 0) + 1
                postfix["loss"] = float(loss.detach())
                if deadline is not None and time.perf_counter() >= deadline:
                    return {k: totals[k] / counts[k] for k in totals}, True
        return {k: totals[k] / counts[k] for k in totals}, False

    def _validate(self, model: Trainable, valid: Interactions, seen: Any) -> float:
        for module in model.modules().values():
            module.eval()
        # validation draws no random numbers from the training stream
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            if self._replicas is not None:  # a shard of the users per rank, summed
                cfg = self.config
                return self._replicas.validate(
                    model, valid, seen, cfg.monitor, cfg.eval_batch_size
                )
            result = evaluate_interactions(
                model,
                valid,
                seen=seen,
                metrics=(self.config.monitor,),
                batch_size=self.config.eval_batch_size,
            )
        return float(result.metrics[self.config.monitor])

    def _log_epoch(self, record: Mapping[str, Any]) -> None:
        parts = [f"epoch={record['epoch']}"]
        parts += [f"{k}={v:.4g}" for k, v in record["losses"].items()]
        if self.config.monitor in record:
            parts.append(f"{self.config.monitor}={record[self.config.monitor]:.4f}")
        parts.append(f"seconds={record['train_seconds']:.2f}")
        logger.info("epoch done: " + " ".join(parts))

    # ------------------------------------------------------------------ files
    def _config_yaml(self, model: Trainable, fingerprint: Mapping[str, Any]) -> str:
        return dump_yaml(
            {
                "model": {"name": model.name, **to_dict(model.config)},
                "train": to_dict(self.config),
                "fingerprint": dict(fingerprint),
            }
        )

    def _write_epoch(
        self,
        run: RunFolder,
        model: Trainable,
        optimizers: Mapping[str, torch.optim.Optimizer],
        generator: torch.Generator,
        device: torch.device,
        state: _State,
        best: Mapping[str, torch.Tensor],
        improved: bool,
        fingerprint: Mapping[str, Any],
    ) -> None:
        run.write_log(state.records)
        if not self.config.checkpoint:
            return
        if improved:
            run.write_tensors("best.safetensors", best)
        tensors = {**model_tensors(model), **capture_rng(generator, device)}
        optim_plain = {}
        for name, optimizer in optimizers.items():
            opt_tensors, optim_plain[name] = optimizer_to_flat(name, optimizer)
            tensors.update(opt_tensors)
        meta = {
            "fingerprint": dict(fingerprint),
            "state": dataclasses.asdict(state),
            "optimizers": optim_plain,
        }
        # tensors first: a crash between the two leaves last.json pointing at the
        # previous epoch, whose tensors were just replaced, so the epoch is checked
        tensors["state.epoch"] = torch.tensor([state.epoch], dtype=torch.int64)
        run.write_tensors("last.safetensors", tensors)
        run.write_json("last.json", meta)

    def _resume(
        self,
        run: RunFolder,
        model: Trainable,
        optimizers: Mapping[str, torch.optim.Optimizer],
        generator: torch.Generator,
        device: torch.device,
        fingerprint: Mapping[str, Any],
    ) -> tuple[_State, dict[str, torch.Tensor]]:
        if not run.has_last():
            raise ConfigError(
                f"TrainConfig.resume is true but {run.path} has no last checkpoint "
                "(last.json + last.safetensors)"
            )
        meta, tensors = run.read_last()
        check_fingerprint(meta.get("fingerprint", {}), fingerprint, run.path)
        state = _State(**meta["state"])
        saved_epoch = int(tensors.pop("state.epoch")[0])
        if saved_epoch != state.epoch:
            raise ConfigError(
                f"cannot resume from {run.path}: last.json (epoch {state.epoch}) and "
                f"last.safetensors (epoch {saved_epoch}) disagree; the run was interrupted "
                "while writing; start again with resume=False"
            )
        load_model_tensors(model, {k: v for k, v in tensors.items() if not k.startswith("rng.")})
        for name, optimizer in optimizers.items():
            optimizer_from_flat(name, optimizer, tensors, meta["optimizers"][name])
        restore_rng(tensors, generator, device)
        best_path = Path(run.path) / "best.safetensors"
        best = run.read_best() if best_path.is_file() else model_tensors(model)
        logger.info(f"resuming: run_dir={run.path} epoch={state.epoch}")
        return state, best


def _should_stop_early(state: _State, cfg: TrainConfig) -> bool:
    return cfg.patience is not None and state.bad_evals >= cfg.patience


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


@contextlib.contextmanager
def _threads(num_threads: int | None) -> Iterator[None]:
    if num_threads is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if not math.isnan(value) else "nan"
    return str(value)
