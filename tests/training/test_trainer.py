"""The generic trainer: config validation, run folder, resume, NaN, early stopping."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

import pytest

from ssl4rec import errors
from ssl4rec.errors import ConfigError
from ssl4rec.models.cfgan import CFGAN, CFGANConfig
from ssl4rec.models.mult_dae import MultDAE, MultDAEConfig
from ssl4rec.models.mult_vae import MultVAE, MultVAEConfig
from ssl4rec.testing.synthetic import block_interactions, block_split
from ssl4rec.training.checkpoint import optimizer_from_flat, optimizer_to_flat
from ssl4rec.training.trainer import TrainConfig, Trainer, TrainingDivergedError

VAE = MultVAEConfig(
    hidden_dims=(16,), embedding_dim=8, batch_size=16, learning_rate=1e-2, total_anneal_steps=20
)
GAN = CFGANConfig(
    hidden_dims=(16,), discriminator_hidden_dims=(8,), batch_size=16, learning_rate=1e-3
)


def _train(**kwargs: Any) -> TrainConfig:
    return TrainConfig(progress=False, device="cpu", num_threads=1, patience=None, **kwargs)


@pytest.fixture(scope="module")
def split():
    return block_split()


# ---------------------------------------------------------------------- config
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"patience": 0}, "patience"),
        ({"eval_every": -1}, "eval_every"),
        ({"device": "tpu"}, "device"),
        ({"monitor": "ndcg"}, "monitor"),
        ({"grad_clip": 0.0}, "grad_clip"),
        ({"resume": True}, "run_dir"),
        ({"time_budget_s": -1.0}, "time_budget_s"),
    ],
)
def test_invalid_train_config_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=f"TrainConfig.{field}"):
        TrainConfig(**kwargs)


def test_train_config_round_trips() -> None:
    from ssl4rec.config.base import from_dict, to_dict

    config = TrainConfig(patience=3, run_dir="runs/x", grad_clip=5.0)
    assert from_dict(TrainConfig, to_dict(config)) == config
    assert set(to_dict(config)).isdisjoint({"max_epochs", "seed", "renamed_fields"})


@pytest.mark.parametrize(("old", "new"), [("max_epochs", "model.epochs"), ("seed", "model.seed")])
def test_removed_train_fields_name_their_new_place(old: str, new: str) -> None:
    from ssl4rec.config.base import from_dict

    with pytest.raises(ConfigError, match=rf"^train: field '{old}' was renamed to '{new}'$"):
        from_dict(TrainConfig, {old: 3}, where="train")


# ---------------------------------------------------------------------- run folder
def test_run_folder_has_every_file(split, tmp_path: Path, caplog) -> None:
    run_dir = tmp_path / "run"
    with caplog.at_level(logging.INFO, logger="ssl4rec"):
        model = MultVAE(replace(VAE, epochs=3)).fit(
            split.train, valid=split.valid, train_config=_train(run_dir=str(run_dir))
        )
    names = {p.name for p in run_dir.iterdir()}
    assert {
        "config.yaml",
        "log.jsonl",
        "best.safetensors",
        "last.safetensors",
        "last.json",
        "metrics.json",
        "curves.png",
    } <= names
    assert not any(n.startswith(".") for n in names)  # no temporary files left behind
    lines = [json.loads(x) for x in (run_dir / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2, 3]
    assert {"loss", "nll", "kl"} <= set(lines[0]["losses"])
    assert all(0.0 <= r["ndcg@10"] <= 1.0 and r["seconds"] > 0 for r in lines)
    summary = json.loads((run_dir / "metrics.json").read_text())
    assert summary == model.train_summary
    assert set(summary) >= {
        "best_epoch",
        "best_metric",
        "epochs_run",
        "seconds",
        "seconds_per_epoch",
        "time_to_best_s",
        "stopped_reason",
    }
    assert summary["epochs_run"] == 3 and summary["stopped_reason"] == "max_epochs"
    assert (run_dir / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert any("epoch done: epoch=3 loss=" in r.getMessage() for r in caplog.records)


def test_fit_leaves_global_rng_alone(split) -> None:
    before = torch.get_rng_state()
    MultDAE(MultDAEConfig(hidden_dims=(8,), embedding_dim=4, epochs=1)).fit(
        split.train, train_config=_train()
    )
    assert torch.equal(before, torch.get_rng_state())


# ---------------------------------------------------------------------- resume
@pytest.mark.parametrize(("model_class", "config"), [(MultVAE, VAE), (CFGAN, GAN)])
def test_resume_reaches_the_uninterrupted_weights(split, tmp_path: Path, model_class, config):
    users = np.arange(split.num_users)
    whole = model_class(replace(config, epochs=4)).fit(
        split.train, valid=split.valid, train_config=_train()
    )
    run = str(tmp_path / "run")
    model_class(replace(config, epochs=2)).fit(
        split.train, valid=split.valid, train_config=_train(run_dir=run)
    )
    # a longer run may resume a shorter one: epochs only bounds the run length
    resumed = model_class(replace(config, epochs=4)).fit(
        split.train, valid=split.valid, train_config=_train(run_dir=run, resume=True)
    )
    assert resumed.train_summary["epochs_run"] == 4
    assert torch.equal(whole.score(users), resumed.score(users))
    log = (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in log] == [1, 2, 3, 4]


def test_resume_refuses_a_different_config(split, tmp_path: Path) -> None:
    run = str(tmp_path / "run")
    MultVAE(replace(VAE, epochs=1)).fit(split.train, train_config=_train(run_dir=run))
    other = MultVAEConfig(**{**VAE.__dict__, "dropout": 0.2, "epochs": 2})
    with pytest.raises(ConfigError, match=r"cannot resume .*model\.dropout: 0\.5 != 0\.2"):
        MultVAE(other).fit(split.train, train_config=_train(run_dir=run, resume=True))


def test_resume_refuses_a_different_seed(split, tmp_path: Path) -> None:
    run = str(tmp_path / "run")
    MultVAE(replace(VAE, epochs=1)).fit(split.train, train_config=_train(run_dir=run))
    with pytest.raises(ConfigError, match=r"cannot resume .*model\.seed: 0 != 1"):
        MultVAE(replace(VAE, epochs=2, seed=1)).fit(
            split.train, train_config=_train(run_dir=run, resume=True)
        )


def test_resume_refuses_different_train_settings(split, tmp_path: Path) -> None:
    run = str(tmp_path / "run")
    MultVAE(replace(VAE, epochs=1)).fit(split.train, train_config=_train(run_dir=run))
    with pytest.raises(ConfigError, match=r"cannot resume .*train\.grad_clip: None != 1\.0"):
        MultVAE(replace(VAE, epochs=2)).fit(
            split.train, train_config=_train(run_dir=run, resume=True, grad_clip=1.0)
        )


def test_resume_refuses_different_data(split, tmp_path: Path) -> None:
    run = str(tmp_path / "run")
    MultVAE(replace(VAE, epochs=1)).fit(split.train, train_config=_train(run_dir=run))
    data = block_interactions(seed=5)
    with pytest.raises(ConfigError, match="training data differs"):
        MultVAE(replace(VAE, epochs=2)).fit(data, train_config=_train(run_dir=run, resume=True))


def test_resume_without_checkpoint_is_refused(split, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no last checkpoint"):
        MultVAE(VAE).fit(split.train, train_config=_train(run_dir=str(tmp_path), resume=True))


def test_optimizer_state_round_trips_without_pickle() -> None:
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    net(torch.ones(4, 3)).sum().backward()
    opt.step()
    tensors, plain = optimizer_to_flat("model", opt)
    json.dumps(plain)  # plain data only
    fresh = torch.optim.Adam(net.parameters(), lr=0.5)
    optimizer_from_flat("model", fresh, tensors, plain)
    a, b = opt.state_dict(), fresh.state_dict()
    assert a["param_groups"][0]["lr"] == b["param_groups"][0]["lr"] == 0.1
    for pid, state in a["state"].items():
        for key, value in state.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(b["state"][pid][key]))


# ---------------------------------------------------------------------- failures
class _DivergingDAE(MultDAE):
    """Loss turns NaN from the third epoch on."""

    name = "multdae"

    def on_epoch_start(self, epoch: int) -> None:
        self._epoch = epoch

    def training_step(self, batch: Any, phase: str | None = None) -> dict[str, torch.Tensor]:
        terms = super().training_step(batch, phase)
        if self._epoch >= 2:
            terms["loss"] = terms["loss"] * float("nan")
        return terms


def test_nan_loss_stops_and_keeps_the_best_checkpoint(split, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    run = tmp_path / "run"
    model = _DivergingDAE(MultDAEConfig(hidden_dims=(8,), embedding_dim=4, epochs=5))
    with pytest.raises(TrainingDivergedError, match="loss is nan at epoch 3"):
        model.fit(split.train, valid=split.valid, train_config=_train(run_dir=str(run)))
    best = load_file(str(run / "best.safetensors"))
    assert best and all(torch.isfinite(t).all() for t in best.values())
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2]
    # the model in memory holds the best weights and still scores
    assert torch.isfinite(model.score(np.arange(4))).all()
    assert isinstance(TrainingDivergedError("x"), FloatingPointError)
    assert TrainingDivergedError is errors.TrainingDivergedError  # with the other error types


def test_early_stopping_restores_the_best_epoch(split, monkeypatch) -> None:
    values = iter([0.5, 0.6, 0.4, 0.3, 0.2, 0.1])
    monkeypatch.setattr(Trainer, "_validate", lambda self, model, valid, seen: next(values))
    model = MultDAE(MultDAEConfig(hidden_dims=(8,), embedding_dim=4, epochs=6))
    config = TrainConfig(progress=False, device="cpu", patience=2)
    summary = model.fit(split.train, valid=split.valid, train_config=config).train_summary
    assert summary["stopped_reason"] == "patience"
    assert summary["epochs_run"] == 4
    assert summary["best_epoch"] == 2 and summary["best_metric"] == 0.6


def test_time_budget_stops_after_one_epoch(split) -> None:
    model = MultDAE(MultDAEConfig(hidden_dims=(8,), embedding_dim=4, epochs=50))
    summary = model.fit(split.train, train_config=_train(time_budget_s=1e-6)).train_summary
    assert summary["epochs_run"] == 1 and summary["stopped_reason"] == "time_budget"


@pytest.mark.parametrize("epochs", [2, 3])
def test_the_epoch_limit_is_the_model_configs(split, epochs: int) -> None:
    model = MultDAE(MultDAEConfig(hidden_dims=(8,), embedding_dim=4, epochs=epochs))
    summary = model.fit(split.train, train_config=_train()).train_summary
    assert summary["epochs_run"] == epochs and summary["stopped_reason"] == "max_epochs"


def test_the_training_seed_is_the_model_configs(split, monkeypatch) -> None:
    import ssl4rec.training.trainer as trainer_module

    seeds: list[int] = []
    isolated = trainer_module.isolated_rng

    def recording(seed: int, device: torch.device):
        seeds.append(seed)
        return isolated(seed, device)

    monkeypatch.setattr(trainer_module, "isolated_rng", recording)
    for seed in (0, 7):
        MultDAE(MultDAEConfig(hidden_dims=(8,), embedding_dim=4, epochs=1, seed=seed)).fit(
            split.train, train_config=_train()
        )
    assert seeds == [0, 7]


def test_grad_clip_runs(split) -> None:
    model = MultDAE(MultDAEConfig(hidden_dims=(8,), embedding_dim=4, epochs=1))
    model.fit(split.train, train_config=_train(grad_clip=0.1))
    assert torch.isfinite(model.score(np.arange(3))).all()


class _CountingVAE(MultVAE):
    steps = 0

    def training_step(self, batch, phase=None):  # noqa: D102 - counts, then the real step
        type(self).steps += 1
        return super().training_step(batch, phase)


def test_time_budget_is_checked_between_batches() -> None:
    split = block_split()  # 80 users: 20 batches of 4 per epoch
    config = TrainConfig(progress=False, device="cpu", patience=None, time_budget_s=1e-9)
    model = _CountingVAE(replace(VAE, batch_size=4, epochs=5))
    model.fit(split.train, valid=split.valid, train_config=config)
    assert _CountingVAE.steps == 1  # the first batch used the whole budget
    summary = model.train_summary
    assert summary["stopped_reason"] == "time_budget" and summary["epochs_run"] == 1
    assert summary["best_metric"] is not None  # the cut epoch was validated


def test_one_thread_is_the_default() -> None:
    assert TrainConfig().num_threads == 1
