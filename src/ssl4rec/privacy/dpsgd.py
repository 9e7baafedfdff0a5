"""DP-SGD with the user as the privacy unit, through Opacus.

``DPSGD`` plugs into the generic trainer (``ssl4rec.training.trainer``) as its
step hook. Opacus does the private parts: the ``PrivacyEngine`` calibrates the
noise multiplier to the target (ε, δ) for the planned number of epochs
(``make_private_with_epsilon``), its ``DPDataLoader`` draws each batch by Poisson
sampling of users, its ``DPOptimizer`` clips every user's gradient to
``max_grad_norm`` and adds Gaussian noise, and its accountant (PRV, RDP or GDP)
reports the ε spent. This module only turns sampled users into the model's batch
(``PrivatelyTrainable.private_batch``) and, for models whose parameters are used
outside the layers Opacus hooks (SASRec's item table is both input embedding and
output layer), computes each user's gradient by its own backward pass
(``grad_mode = "loop"``), clips it to ``max_grad_norm`` with Opacus's per-sample
rule and adds it to the batch's sum, which Opacus's fast-gradient-clipping
optimizer then noises, as it does after ghost clipping. A loop batch may name the
item-table rows it touches (``rows``, its tokens renumbered into them): each
user's gradient is then taken with respect to those rows only, so a sampled-softmax
step never forms an item-wide gradient per user; the noise still covers the whole
table.
Models built from layers Opacus knows (the autoencoders' MLPs) use its ghost
clipping (``grad_mode = "ghost"``): each user's gradient norm comes from the
layer's inputs and output gradients without forming the gradient, and a second
backward pass sums the clipped gradients, so a private step costs about two
ordinary ones even for a 100k-item input layer.

References:
    Martín Abadi et al. Deep Learning with Differential Privacy. CCS 2016.
    Ashkan Yousefpour et al. Opacus: User-Friendly Differential Privacy Library in
    PyTorch. arXiv:2109.12298, 2021.
    Sivakanth Gopi, Yin Tat Lee, Lukas Wutschitz. Numerical Composition of Differential
    Privacy (the PRV accountant). NeurIPS 2021.
    Xuechen Li, Florian Tramèr, Percy Liang, Tatsunori Hashimoto. Large Language Models
    Can Be Strong Differentially Private Learners (ghost clipping). ICLR 2022.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import ConfigError, TrainingDivergedError
from ssl4rec.privacy.config import PrivacyConfig, default_delta
from ssl4rec.privacy.mechanisms import noisy_counts

__all__ = ["DPSGD", "OutputPrior", "PrivatelyTrainable", "refusal"]

logger = logging.getLogger(__name__)


@runtime_checkable
class PrivatelyTrainable(Protocol):
    """A model DP-SGD can train: it builds the batch of a set of sampled users."""

    grad_mode: Literal["loop", "ghost"]
    """``ghost``: every parameter is used inside layers Opacus clips per sample
    (Linear, Embedding, LayerNorm..., or a layer with ``ghost_norms``), by its ghost
    clipping, the model giving each user's loss (``user_losses(batch)["loss"]``,
    ``(b,)``); ``loop``: one backward pass per user. A ``loop`` batch (a dict) may
    carry ``rows``, int64 ``(U,)``: the rows of the parameter ``row_parameter()``
    its samples use, renumbered ``0..U-1`` in its tokens; inside
    ``use_rows(vectors)`` the model's ``training_step`` then reads those rows from
    ``vectors`` ``(U, d)`` instead of the parameter itself. Its ``shared`` entry (a dict) holds tensors every sample reads
    whole (SASRec's sampled negatives); every other tensor has the users along dim 0.
    A model may also set ``private_min_events`` (default 1): users with fewer
    training events are not samples (they have nothing to learn from)."""

    def private_batch(
        self, train: Interactions, users: torch.Tensor, generator: torch.Generator
    ) -> Any:
        """The ``training_step`` batch of ``users`` (int64 ``(b,)``), one sample per user.

        Every tensor in it has the users along dim 0, in the order of ``users``.
        """
        ...


@runtime_checkable
class OutputPrior(Protocol):
    """A model whose item logits have a bias a popularity prior can start from."""

    def set_output_prior(self, log_prior: torch.Tensor) -> None:
        """Set the output bias to ``log_prior`` ``(num_items,)``."""
        ...


def refusal(model: Any) -> str | None:
    """Why ``model`` cannot be trained with DP-SGD, in one line; ``None`` if it can."""
    reason = getattr(model, "dp_refusal", None)
    if reason:
        return f"{model.name}: {reason}"
    if getattr(model, "closed_form", False):
        return (
            f"{model.name}: closed-form, its weights come from every user's data in one "
            "pass with no per-user gradient to clip; use dp-pop (noisy counts) instead"
        )
    if not isinstance(model, PrivatelyTrainable):
        return (
            f"{model.name}: no per-user batches for DP-SGD (supported: multvae, multdae, "
            "sasrec; dp-pop as the private baseline)"
        )
    return None


class DPSGD:
    """The trainer's step hook for one private run (see the module docstring).

    Args:
        config: the ``privacy`` section (``target_epsilon`` set).
        epochs: epochs the noise is calibrated for (the model's ``epochs``).
        batch_size: expected users per batch (sample rate = batch_size / users).
        seed: seeds the Poisson sampling and the noise.
    """

    def __init__(self, config: PrivacyConfig, *, epochs: int, batch_size: int, seed: int) -> None:
        if config.target_epsilon is None:
            raise ConfigError("privacy.target_epsilon: DP-SGD needs a budget; got null")
        self.config = config
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.delta = 0.0
        self.noise_multiplier = 0.0
        self.sample_rate = 0.0
        self.steps = 0
        self.max_steps = 0
        self.num_users = 0
        self._engine: Any = None
        self._loader: Any = None
        self._generator = torch.Generator().manual_seed(self.seed + 7919)
        self._train: Interactions | None = None
        self._hooks: Any = None
        self.prior_noise_multiplier: float | None = None

    # ------------------------------------------------------------------ setup
    def attach(
        self, model: Any, train: Interactions, optimizers: Mapping[str, torch.optim.Optimizer]
    ) -> dict[str, torch.optim.Optimizer]:
        """Make the model's one optimizer private; returns it (an Opacus ``DPOptimizer``).

        Raises:
            ConfigError: the model cannot be trained privately, or the budget is too
                small for one step (naming the smallest feasible ε).
        """
        from opacus import PrivacyEngine

        reason = refusal(model)
        if reason is not None:
            raise ConfigError(f"privacy: cannot train privately: {reason}")
        if len(optimizers) != 1:
            raise ConfigError(
                f"privacy: cannot train privately: {model.name} alternates "
                f"{len(optimizers)} optimizers ({sorted(optimizers)}); DP-SGD needs one"
            )
        cfg = self.config
        assert cfg.target_epsilon is not None
        least = int(getattr(model, "private_min_events", 1))
        users = torch.from_numpy(np.flatnonzero(train.user_counts >= least).astype(np.int64))
        self.num_users = len(users)
        if self.num_users == 0:
            raise ConfigError("privacy: the training data has no users")
        self.delta = cfg.delta if cfg.delta is not None else default_delta(self.num_users)
        logger.info(
            "privacy: delta=%.3g (%s; 1/users = %.3g for %d training users)",
            self.delta,
            "set" if cfg.delta is not None else "default 0.1/users",
            1 / self.num_users,
            self.num_users,
        )
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(users),
            batch_size=min(self.batch_size, self.num_users),
            generator=torch.Generator().manual_seed(self.seed),
        )
        if cfg.prior_epsilon is not None:
            self._set_prior(model, train, users.numpy())
        # what make_private_with_epsilon does, with the budget error made ours
        noise_multiplier = self._noise_multiplier(len(loader))
        ((name, optimizer),) = optimizers.items()
        container = nn.ModuleDict(dict(model.modules()))
        # loop: the clipped sum is ours (``_loop_grads``), Opacus's optimizer noises it
        mode = {"ghost": "ghost", "loop": "no_op"}[model.grad_mode]
        if mode == "ghost":
            _register_ghost_layers(container)
        ghost = {"criterion": nn.CrossEntropyLoss()} if mode == "ghost" else {}
        # the noise is drawn where the parameters live (Opacus wants a generator of
        # their device); on the CPU it shares the batch generator's stream
        device = next(container.parameters()).device
        noise_generator = self._generator
        if device.type != "cpu":
            noise_generator = torch.Generator(device=device).manual_seed(self.seed + 7919)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the secure-RNG notice (seeded runs are wanted)
            engine = PrivacyEngine(accountant=cfg.accountant)
            # ghost mode also wraps a criterion; ours is the model's per-user loss
            hooks, dp_optimizer, *_, dp_loader = engine.make_private(
                module=container,
                optimizer=optimizer,
                data_loader=loader,
                noise_multiplier=noise_multiplier,
                max_grad_norm=cfg.max_grad_norm,
                poisson_sampling=True,
                grad_sample_mode=mode,
                wrap_model=False,
                noise_generator=noise_generator,
                **ghost,
            )
        if mode == "no_op":
            from opacus.optimizers import DPOptimizerFastGradientClipping

            dp_optimizer = DPOptimizerFastGradientClipping(
                dp_optimizer.original_optimizer,
                noise_multiplier=dp_optimizer.noise_multiplier,
                max_grad_norm=cfg.max_grad_norm,
                expected_batch_size=dp_optimizer.expected_batch_size,
                loss_reduction="mean",
                generator=noise_generator,
            )
            dp_optimizer.attach_step_hook(
                engine.accountant.get_optimizer_hook_fn(sample_rate=1.0 / len(dp_loader))
            )
        self._engine, self._loader, self._train = engine, dp_loader, train
        self._hooks = hooks
        self.noise_multiplier = float(dp_optimizer.noise_multiplier)
        self.sample_rate = 1.0 / len(dp_loader)
        self.max_steps = self.epochs * len(dp_loader)
        logger.info(
            "privacy: DP-SGD target_epsilon=%s delta=%.3g noise_multiplier=%.4g "
            "sample_rate=%.4g steps<=%d accountant=%s per-user grads=%s",
            cfg.target_epsilon,
            self.delta,
            self.noise_multiplier,
            self.sample_rate,
            self.max_steps,
            cfg.accountant,
            model.grad_mode,
        )
        return {name: dp_optimizer}

    def _set_prior(self, model: Any, train: Interactions, users: np.ndarray) -> None:
        """Release noisy item counts (``prior_epsilon``) and start the output bias there.

        The counts are DP-Pop's Gaussian mechanism (each user's row scaled to unit L2
        norm); its σ enters the accountant beside DP-SGD's steps.
        """
        cfg = self.config
        assert cfg.prior_epsilon is not None
        if not isinstance(model, OutputPrior):
            raise ConfigError(
                f"privacy.prior_epsilon: {model.name} has no output bias to start from a "
                "popularity prior (supported: multvae, multdae); set it to null"
            )
        counts, report = noisy_counts(
            train.csr()[users],
            epsilon=cfg.prior_epsilon,
            delta=self.delta,
            mechanism="gaussian",
            seed=self.seed + 104729,
            accountant=cfg.accountant,
        )
        self.prior_noise_multiplier = float(report["noise_multiplier"])
        share = np.clip(counts, 0.5, None)  # a noisy count below half a user is noise
        log_prior = np.log(share / share.sum())
        model.set_output_prior(torch.from_numpy(log_prior - log_prior.mean()).float())

    def _prior_history(self) -> list[tuple[float, float, int]]:
        """The prior's one release as accountant history (empty without a prior)."""
        if self.prior_noise_multiplier is None:
            return []
        return [(self.prior_noise_multiplier, 1.0, 1)]

    def _noise_multiplier(self, steps_per_epoch: int) -> float:
        """Opacus's σ for the target (ε, δ) over the planned steps.

        With a popularity prior, σ is the smallest one (bisection) for which the
        accountant's ε of the prior's release composed with the steps stays within
        the target.

        Raises:
            ConfigError: no noise level reaches the target (the smallest feasible ε named).
        """
        from opacus.accountants import create_accountant
        from opacus.accountants.utils import get_noise_multiplier

        cfg = self.config
        assert cfg.target_epsilon is not None
        rate, steps = 1.0 / steps_per_epoch, self.epochs * steps_per_epoch
        if self.prior_noise_multiplier is not None:

            def spent(sigma: float) -> float:
                acc = create_accountant(cfg.accountant)
                acc.history = [*self._prior_history(), (sigma, rate, steps)]
                with np.errstate(divide="ignore"):  # PRV's log(1 - q) at the prior's q = 1
                    return float(acc.get_epsilon(delta=self.delta))

            low, high = 0.05, 1e3
            if spent(high) > cfg.target_epsilon:
                raise ConfigError(
                    f"privacy.target_epsilon={cfg.target_epsilon} leaves DP-SGD no room after "
                    f"prior_epsilon={cfg.prior_epsilon}; lower prior_epsilon or raise the target"
                )
            for _ in range(40):  # σ to 1e-3 relative
                mid = math.sqrt(low * high)
                low, high = (low, mid) if spent(mid) <= cfg.target_epsilon else (mid, high)
            return high
        try:
            return get_noise_multiplier(
                target_epsilon=cfg.target_epsilon,
                target_delta=self.delta,
                sample_rate=1.0 / steps_per_epoch,
                epochs=self.epochs,
                accountant=cfg.accountant,
            )
        except ValueError:
            smallest = _smallest_epsilon(
                self.delta, 1.0 / steps_per_epoch, self.epochs * steps_per_epoch, cfg.accountant
            )
            raise ConfigError(
                f"privacy.target_epsilon={cfg.target_epsilon} is too small to take a single "
                f"step with {self.num_users} users; the smallest feasible value here is "
                f"about {smallest:.3g}"
            ) from None

    # ------------------------------------------------------------------ training
    def batches(self, model: Any, train: Interactions) -> Iterator[Any]:
        """One epoch of Poisson-sampled user batches; none once the budget's steps are used."""
        assert self._loader is not None
        for (users,) in self._loader:
            if self.steps >= self.max_steps:
                return  # the calibrated number of steps is spent: never exceed ε
            yield model.private_batch(train, users.long(), self._generator)

    def step(
        self, model: Any, batch: Any, phase: str | None, optimizer: torch.optim.Optimizer
    ) -> dict[str, torch.Tensor] | None:
        """Forward, per-user gradients, clip + noise + update (the ``DPOptimizer``).

        Returns:
            The batch's loss terms; ``None`` for an empty Poisson draw (which still
            takes its noisy step, as the accounting assumes).
        """
        optimizer.zero_grad(set_to_none=True)
        params = [p for g in optimizer.param_groups for p in g["params"] if p.requires_grad]
        size = _batch_size(batch)
        terms: dict[str, torch.Tensor] | None
        if size == 0:
            for p in params:
                p.grad = torch.zeros_like(p)
            terms = None
        elif model.grad_mode == "ghost":
            terms = self._ghost_grads(model, batch, optimizer)
        else:
            terms = self._loop_grads(model, batch, phase, params, size, self.config.max_grad_norm)
        optimizer.step()
        self.steps += 1
        return terms

    def _ghost_grads(
        self, model: Any, batch: Any, optimizer: torch.optim.Optimizer
    ) -> dict[str, torch.Tensor]:
        """Clipped per-user gradients summed into ``p.grad`` by Opacus's ghost clipping."""
        from opacus.utils.fast_gradient_clipping_utils import DPTensorFastGradientClipping

        terms = model.user_losses(batch)
        loss = terms["loss"]  # (b,)
        _check_finite(model, loss)
        with warnings.catch_warnings():
            # the hooks fire on module outputs when the input rows need no grad
            warnings.simplefilter("ignore", UserWarning)
            DPTensorFastGradientClipping(self._hooks, optimizer, loss, "mean").backward()
        return {k: v.detach().mean() for k, v in terms.items()}

    @staticmethod
    def _loop_grads(
        model: Any,
        batch: Any,
        phase: str | None,
        params: list[torch.Tensor],
        size: int,
        max_grad_norm: float,
    ) -> dict[str, torch.Tensor]:
        """Each user's gradient by its own backward pass, clipped, summed into ``p.grad``.

        The clip is Opacus's per-sample rule (``DPOptimizer.clip_and_accumulate``):
        the whole gradient is scaled by ``min(1, C / (‖g‖ + 1e-6))``.
        """
        totals: dict[str, torch.Tensor] = {}
        sums = [torch.zeros_like(p) for p in params]
        for _, grads, terms in user_gradients(model, batch, phase, params, size):
            norm = torch.stack([_squared_norm(g) for g in grads if g is not None]).sum().sqrt()
            factor = (max_grad_norm / (norm + 1e-6)).clamp(max=1.0)
            for buf, grad in zip(sums, grads, strict=True):
                if grad is not None:
                    buf.add_(grad * factor)
            for key, value in terms.items():
                totals[key] = totals.get(key, 0.0) + value.detach()
        for p, buf in zip(params, sums, strict=True):
            p.grad = buf
        return {k: v / size for k, v in totals.items()}

    # ------------------------------------------------------------------ report
    def summary(self) -> dict[str, Any]:
        """What the run spent, and the settings that produced it.

        Keys: ``epsilon``, ``delta``, ``noise_multiplier``, ``sample_rate``, ``steps``,
        ``unit`` and the targets and settings.
        """
        epsilon = 0.0
        if self.steps:
            from opacus.accountants import create_accountant

            acc = create_accountant(self.config.accountant)
            acc.history = [*self._prior_history(), *self._engine.accountant.history]
            with np.errstate(divide="ignore"):  # PRV's log(1 - q) at the prior's q = 1
                epsilon = float(acc.get_epsilon(delta=self.delta))
        prior = {}
        if self.prior_noise_multiplier is not None:
            prior = {
                "prior_epsilon": self.config.prior_epsilon,
                "prior_noise_multiplier": round(self.prior_noise_multiplier, 6),
            }
        return {
            "epsilon": round(epsilon, 4),
            "target_epsilon": self.config.target_epsilon,
            "delta": self.delta,
            "noise_multiplier": round(self.noise_multiplier, 6),
            "sample_rate": round(self.sample_rate, 6),
            "steps": self.steps,
            "max_steps": self.max_steps,
            "max_grad_norm": self.config.max_grad_norm,
            "accountant": self.config.accountant,
            "unit": "user",
            "users": self.num_users,
            **prior,
        }


def user_gradients(
    model: Any, batch: Any, phase: str | None, params: list[torch.Tensor], size: int
) -> Iterator[tuple[int, list[torch.Tensor | None], dict[str, torch.Tensor]]]:
    """Yield ``(i, gradients of params, loss terms)`` of each sample ``i`` of a batch.

    One backward pass per sample, on the sample's slice of the batch plus the
    batch's ``shared`` entries, whole. When the batch names the rows it uses of
    ``model.row_parameter()`` (``rows``), the gradient of that parameter is taken
    with respect to those rows only and yielded as a row-sparse tensor (a
    ``torch.sparse_coo`` of the parameter's shape), so no item-wide tensor is formed
    per sample.
    """
    shared: dict[str, torch.Tensor] = {}
    rows = None
    if isinstance(batch, Mapping):
        shared, rows = batch.get("shared", {}), batch.get("rows")
        batch = {k: v for k, v in batch.items() if k not in ("shared", "rows")}
    targets, at, leaf = list(params), -1, None
    if rows is not None:
        weight = model.row_parameter()
        at = next(j for j, p in enumerate(params) if p is weight)
        leaf = weight.detach()[rows].requires_grad_()  # (U, d)
        targets[at] = leaf
    with model.use_rows(leaf) if leaf is not None else nullcontext():
        for i in range(size):
            sample = _row(batch, i)
            terms = model.training_step({**sample, **shared} if shared else sample, phase)
            _check_finite(model, terms["loss"])
            grads: list[torch.Tensor | None] = list(
                torch.autograd.grad(terms["loss"], targets, allow_unused=True)
            )
            part = grads[at]
            if rows is not None and part is not None:
                grads[at] = torch.sparse_coo_tensor(
                    rows.unsqueeze(0),
                    part,
                    params[at].shape,
                    is_coalesced=True,
                    check_invariants=False,  # rows come from torch.unique: sorted, distinct
                )
            yield i, grads, terms


def _squared_norm(grad: torch.Tensor) -> torch.Tensor:
    values = grad._values() if grad.is_sparse else grad
    return values.pow(2).sum()


def _register_ghost_layers(container: nn.Module) -> None:
    """Give Opacus the norm sampler of our layers that define ``ghost_norms``.

    Such a layer (``SparseInputLinear``: sparse user rows summed with an embedding
    bag) computes each sample's gradient norm from its inputs and output gradients.
    """
    from opacus.grad_sample import register_norm_sampler

    def norms(layer: nn.Module, activations: list, backprops: torch.Tensor) -> dict:
        return layer.ghost_norms(activations, backprops)  # type: ignore[operator]

    for layer in container.modules():
        if callable(getattr(layer, "ghost_norms", None)):
            register_norm_sampler(type(layer))(norms)


def _smallest_epsilon(delta: float, sample_rate: float, steps: int, accountant: str) -> float:
    """ε spent by ``steps`` steps at Opacus's largest noise multiplier (its search limit)."""
    from opacus.accountants import create_accountant

    acc = create_accountant(accountant)
    acc.history = [(1e6, sample_rate, steps)]
    try:
        return float(acc.get_epsilon(delta=delta))
    except (ValueError, RuntimeError, OverflowError):
        return math.nan


def _batch_size(batch: Any) -> int:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0])
    if isinstance(batch, Mapping):
        return _batch_size(next(iter(batch.values())))
    if isinstance(batch, (list, tuple)):
        return _batch_size(batch[0])
    raise TypeError(f"cannot tell the batch size of {type(batch).__name__}")


def _row(batch: Any, i: int) -> Any:
    """Sample ``i`` of a batch as a batch of one (tensors sliced along dim 0)."""
    if isinstance(batch, torch.Tensor):
        return batch[i : i + 1]
    if isinstance(batch, Mapping):
        return {k: _row(v, i) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_row(v, i) for v in batch)
    return batch


def _check_finite(model: Any, loss: torch.Tensor) -> None:
    if not torch.isfinite(loss.detach()).all():
        raise TrainingDivergedError(
            f"{type(model).__name__}: loss is {float(loss.detach().mean())} under DP-SGD; "
            "stopped. Lower "
            "learning_rate or privacy.max_grad_norm"
        )
