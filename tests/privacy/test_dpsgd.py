"""DP-SGD through Opacus: budgets, per-user gradients, refusals, private run folders."""

from __future__ import annotations

import copy
import json

import numpy as np
import scipy.sparse as sp
import torch

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.models.base import load_model
from ssl4rec.models.bpr import BPR
from ssl4rec.models.cdae import CDAE
from ssl4rec.models.dp_pop import DPPop
from ssl4rec.models.ease import EASE
from ssl4rec.models.item_knn import ItemKNN
from ssl4rec.models.mult_dae import MultDAE
from ssl4rec.models.mult_vae import MultVAE
from ssl4rec.models.nn.sparse_input import densify, is_sparse
from ssl4rec.models.pop import Pop
from ssl4rec.models.recvae import RecVAE
from ssl4rec.models.sasrec import SASRec
from ssl4rec.privacy.config import PrivacyConfig
from ssl4rec.privacy.dpsgd import DPSGD, user_gradients
from ssl4rec.privacy.mechanisms import noisy_counts
from ssl4rec.runner.experiment import ExperimentConfig
from ssl4rec.runner.run import run_experiment
from ssl4rec.testing.synthetic import TINY_SEQUENTIAL, block_split, cycle_split
from ssl4rec.training.trainer import TrainConfig

TINY_VAE = {"hidden_dims": (16,), "embedding_dim": 8, "batch_size": 16, "epochs": 3}
FAST = PrivacyConfig(target_epsilon=4.0, accountant="rdp")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("target_epsilon", 0.0, "privacy.target_epsilon must be > 0"),
        ("target_epsilon", -1.0, "privacy.target_epsilon must be > 0"),
        ("delta", 1.0, "privacy.delta must be in (0, 1)"),
        ("max_grad_norm", 0.0, "privacy.max_grad_norm must be > 0"),
        ("accountant", "moments", "privacy.accountant must be one of"),
        ("prior_epsilon", 8.0, "privacy.prior_epsilon must be > 0 and below target_epsilon"),
        ("prior_epsilon", 0.0, "privacy.prior_epsilon must be > 0 and below target_epsilon"),
    ],
)
def test_bad_privacy_settings_name_the_field(field: str, value: object, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        PrivacyConfig(**{field: value})  # type: ignore[arg-type]


def test_a_budget_too_small_for_one_step_names_the_smallest_feasible() -> None:
    split = block_split(num_users=40)
    model = MultVAE(**TINY_VAE, seed=0)
    tiny = PrivacyConfig(target_epsilon=1e-9, accountant="rdp")
    with pytest.raises(ConfigError, match=r"too small to take a single step.*smallest feasible"):
        model.fit(split.train, privacy=tiny)


@pytest.mark.parametrize("model_cls", [MultVAE, MultDAE])
def test_autoencoders_spend_at_most_the_target(model_cls: type) -> None:
    split = block_split(num_users=60)
    model = model_cls(**TINY_VAE, seed=0).fit(split.train, valid=split.valid, privacy=FAST)
    spent = model.privacy
    assert spent is not None and spent["unit"] == "user"
    assert 0 < spent["epsilon"] <= 4.0
    assert spent["steps"] == spent["max_steps"] == 3 * round(1 / spent["sample_rate"])
    assert spent["delta"] == pytest.approx(0.1 / 60)
    assert spent["noise_multiplier"] > 0.3
    assert model.train_summary["privacy"] == spent


@pytest.mark.parametrize("accountant", ["rdp", "prv"])
def test_a_popularity_prior_is_composed_into_the_budget(accountant: str) -> None:
    split = block_split(num_users=60)
    plain = PrivacyConfig(target_epsilon=4.0, accountant=accountant)
    with_prior = PrivacyConfig(target_epsilon=4.0, accountant=accountant, prior_epsilon=1.0)
    base = MultVAE(**TINY_VAE, seed=0).fit(split.train, privacy=plain).privacy
    model = MultVAE(**TINY_VAE, seed=0).fit(split.train, privacy=with_prior)
    spent = model.privacy
    assert base is not None and spent is not None
    assert 3.9 < spent["epsilon"] <= 4.0  # prior release + steps, composed by the accountant
    assert spent["prior_epsilon"] == 1.0 and spent["prior_noise_multiplier"] > 1.0
    # the prior takes part of the budget, so the steps need more noise than without it
    assert spent["noise_multiplier"] > base["noise_multiplier"]


def test_the_prior_starts_the_output_bias_at_the_noisy_popularity() -> None:
    split = block_split(num_users=60)
    model = MultDAE(**TINY_VAE, seed=0)
    model._remember(split.train)
    model.build(split.train)
    hook = DPSGD(
        PrivacyConfig(target_epsilon=8.0, prior_epsilon=4.0), epochs=1, batch_size=8, seed=0
    )
    hook.attach(model, split.train, model.configure_optimizers())
    assert model.net is not None
    bias = model.net.decoder.layers[-2].bias.detach().numpy()
    counts = split.train.item_counts
    top, rare = np.argsort(-counts)[:5], np.argsort(counts)[:5]
    assert bias[top].mean() > bias[rare].mean() + 1.0


def test_a_prior_on_a_model_without_an_output_bias_is_refused() -> None:
    split = cycle_split(num_users=40)
    config = {**TINY_SEQUENTIAL, "epochs": 1, "max_seq_len": 4}
    with pytest.raises(ConfigError, match="prior_epsilon: sasrec has no output bias"):
        SASRec(**config, seed=0).fit(
            split.train, privacy=PrivacyConfig(target_epsilon=4.0, prior_epsilon=1.0)
        )


def test_sasrec_trains_privately_with_one_window_per_user() -> None:
    split = cycle_split(num_users=40)
    config = {**TINY_SEQUENTIAL, "dropout": 0.1, "epochs": 2, "max_seq_len": 4}
    model = SASRec(**config, seed=0).fit(split.train, valid=split.valid, privacy=FAST)
    assert model.privacy is not None and 0 < model.privacy["epsilon"] <= 4.0
    users = torch.tensor([0, 1, 2])
    batch = model.private_batch(split.train, users, torch.Generator().manual_seed(0))
    assert batch["tokens"].shape == (3, 4)  # one window each, although sequences are longer
    assert (batch["targets"][:, -1] > 0).all()
    assert np.isfinite(model.score_history([np.array([0, 1])]).numpy()).all()


@pytest.mark.parametrize(
    ("model_cls", "sparse"), [(MultVAE, False), (MultDAE, False), (MultVAE, True)]
)
def test_ghost_clipping_sums_the_clipped_gradients_of_one_backward_per_user(
    model_cls: type, sparse: bool
) -> None:
    """Opacus's ghost clipping (no per-user gradient formed) equals clipping our loop's."""
    split = block_split(num_users=30)
    config: dict[str, object] = {**TINY_VAE, "dropout": 0.0, "sparse_input": sparse}
    if model_cls is MultVAE:  # deterministic z and a fixed β, so each user's loss is fixed
        config.update(noise_std=0.0, total_anneal_steps=0)
    model = model_cls(**config, seed=0)
    model._remember(split.train)
    model.build(split.train)
    assert model.grad_mode == "ghost"
    plain = copy.deepcopy(model)  # no Opacus hooks: one backward pass per user
    batch = model.private_batch(split.train, torch.tensor([0, 3, 5, 11]), torch.Generator())
    plain_params = [p for m in plain.modules().values() for p in m.parameters()]
    samples = _per_user_grads(plain, (batch[0], densify(batch[1])), plain_params, 4)
    assert is_sparse(batch[1]) == sparse
    norms = torch.stack([g.reshape(len(g), -1).norm(dim=1) for g in samples]).norm(dim=0)
    bound = float(norms.median())  # half the users are clipped
    hook = DPSGD(
        PrivacyConfig(target_epsilon=4.0, max_grad_norm=bound), epochs=1, batch_size=8, seed=0
    )
    (optimizer,) = hook.attach(model, split.train, model.configure_optimizers()).values()
    optimizer.zero_grad(set_to_none=True)
    hook._ghost_grads(model, batch, optimizer)
    assert torch.allclose(hook._hooks.get_norm_sample(), norms, rtol=1e-4)
    scale = (bound / (norms + 1e-6)).clamp(max=1.0)
    assert (scale < 1).any() and (scale == 1).any()
    params = [p for g in optimizer.param_groups for p in g["params"]]
    for p, g in zip(params, samples, strict=True):
        expected = (g * scale.view(-1, *[1] * p.dim())).sum(0)
        assert torch.allclose(p.grad, expected, atol=1e-5)


def _per_user_grads(model: object, batch: object, params: list, size: int) -> list[torch.Tensor]:
    """Each sample's gradient of every parameter, stacked ``(size, *p.shape)``, dense."""
    out = [torch.zeros((size, *p.shape)) for p in params]
    for i, grads, _ in user_gradients(model, batch, None, params, size):
        for buf, grad in zip(out, grads, strict=True):
            if grad is not None:
                buf[i] = grad.to_dense() if grad.is_sparse else grad
    return out


def _built_sasrec(split: object, **config: object) -> SASRec:
    model = SASRec(**{**TINY_SEQUENTIAL, "dropout": 0.0, "max_seq_len": 4, **config}, seed=0)
    model._remember(split.train)  # type: ignore[attr-defined]
    model.build(split.train)  # type: ignore[attr-defined]
    return model


def test_the_loop_clips_each_user_as_opacus_does() -> None:
    """Our clipped sum of one backward per user equals Opacus's DPOptimizer clipping."""
    from opacus.optimizers import DPOptimizer

    split = cycle_split(num_users=40)
    model = _built_sasrec(split, seen_bias=True)
    batch = model.private_batch(split.train, torch.arange(8), torch.Generator().manual_seed(0))
    params = [p for m in model.modules().values() for p in m.parameters()]
    samples = _per_user_grads(model, batch, params, 8)
    norms = torch.stack([g.reshape(len(g), -1).norm(dim=1) for g in samples]).norm(dim=0)
    bound = float(norms.median())  # half the users are clipped
    DPSGD._loop_grads(model, batch, None, params, 8, bound)
    ours = [p.grad.clone() for p in params]
    opacus = DPOptimizer(
        torch.optim.SGD(params, lr=0.0),
        noise_multiplier=0.0,
        max_grad_norm=bound,
        expected_batch_size=8,
    )
    for p, g in zip(params, samples, strict=True):
        p.grad_sample = g
    opacus.clip_and_accumulate()
    scale = (bound / (norms + 1e-6)).clamp(max=1.0)
    assert (scale < 1).any() and (scale == 1).any()
    for p, mine in zip(params, ours, strict=True):
        assert torch.allclose(mine, p.summed_grad, atol=1e-6)


def test_a_sampled_softmax_batch_takes_each_users_gradient_on_its_own_rows() -> None:
    """The compact batch (tokens renumbered into the rows it uses) gives the same
    per-user gradients as the same batch over the whole table."""
    split = cycle_split(num_users=40, num_items=60)
    model = _built_sasrec(split, loss="sampled_ce", num_negatives=5, seen_bias=True)
    batch = model.private_batch(split.train, torch.arange(6), torch.Generator().manual_seed(1))
    rows = batch["rows"]
    assert len(rows) < model.net.items.num_items  # type: ignore[union-attr]
    back = torch.cat([torch.zeros(1, dtype=torch.long), rows + 1])  # new token -> old token
    whole = {
        "tokens": back[batch["tokens"]],
        "targets": back[batch["targets"]],
        "shared": {"negatives": rows[batch["shared"]["negatives"]]},
    }
    params = [p for m in model.modules().values() for p in m.parameters()]
    compact = _per_user_grads(model, batch, params, 6)
    dense = _per_user_grads(model, whole, params, 6)
    table = next(i for i, p in enumerate(params) if p is model.row_parameter())
    assert compact[table].abs().sum() > 0
    for mine, full in zip(compact, dense, strict=True):
        assert torch.allclose(mine, full, atol=1e-6)


def test_sasrec_with_sampled_softmax_trains_privately() -> None:
    split = cycle_split(num_users=40, num_items=60)
    config = {
        **TINY_SEQUENTIAL,
        "epochs": 2,
        "max_seq_len": 4,
        "loss": "sampled_ce",
        "num_negatives": 8,
    }
    model = SASRec(**config, seed=0).fit(split.train, valid=split.valid, privacy=FAST)
    assert model.privacy is not None and 0 < model.privacy["epsilon"] <= 4.0
    assert np.isfinite(model.score_history([np.array([0, 1])]).numpy()).all()


def test_popularity_negatives_are_refused_under_dp() -> None:
    split = cycle_split(num_users=40)
    model = SASRec(loss="sampled_ce", num_negatives=8, negative_sampling="popularity", epochs=1)
    with pytest.raises(ConfigError, match="popularity.*training counts") as err:
        model.fit(split.train, privacy=FAST)
    assert "\n" not in str(err.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("model_cls", [SASRec, MultVAE])
def test_private_training_draws_its_noise_on_the_parameters_device(model_cls: type) -> None:
    split = cycle_split(num_users=40)
    config = (
        {**TINY_SEQUENTIAL, "epochs": 1, "max_seq_len": 4}
        if model_cls is SASRec
        else {**TINY_VAE, "epochs": 1}
    )
    model = model_cls(**config, seed=0).fit(
        split.train, privacy=FAST, train_config=TrainConfig(device="cuda", progress=False)
    )
    assert model.privacy is not None and 0 < model.privacy["epsilon"] <= 4.0
    assert model.train_summary["device"].startswith("cuda")


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        (EASE(), "closed-form"),
        (ItemKNN(), "closed-form"),
        (Pop(), "closed-form"),
        (CDAE(epochs=1), "per-user embedding"),
        (BPR(epochs=1), "user embeddings"),
        (RecVAE(epochs=1), "optimizers"),
    ],
)
def test_models_that_cannot_be_private_are_refused_in_one_line(model: object, reason: str) -> None:
    split = block_split(num_users=30)
    with pytest.raises(ConfigError, match=reason) as err:
        model.fit(split.train, privacy=FAST)  # type: ignore[attr-defined]
    assert "\n" not in str(err.value) and "cannot train privately" in str(err.value)


def test_dp_pop_adds_calibrated_noise() -> None:
    split = block_split(num_users=80)
    loose = DPPop(seed=0).fit(split.train, privacy=PrivacyConfig(target_epsilon=1e4))
    tight = DPPop(seed=0).fit(split.train, privacy=PrivacyConfig(target_epsilon=0.1))
    assert loose.privacy is not None and loose.privacy["epsilon"] == 1e4
    assert tight.privacy["noise_multiplier"] > 100 * loose.privacy["noise_multiplier"]
    exact = Pop().fit(split.train).score_history([np.array([], dtype=np.int64)])[0]
    near = loose.score_history([np.array([], dtype=np.int64)])[0]
    assert np.corrcoef(exact.numpy(), near.numpy())[0, 1] > 0.9
    laplace = DPPop(mechanism="laplace", seed=0).fit(split.train, privacy=FAST)
    assert laplace.privacy["delta"] == 0.0 and laplace.privacy["noise_multiplier"] == 0.25


def test_noisy_counts_report_only_the_users_who_contribute() -> None:
    rows = sp.csr_matrix(np.array([[1, 0, 1], [0, 0, 0], [0, 1, 0]], dtype=np.float32))
    _, report = noisy_counts(rows, epsilon=1.0, delta=1e-5, mechanism="laplace", seed=0)
    assert report["users"] == 2  # the empty row (a held-out user) is no contributor


def test_a_private_run_records_its_budget_and_saves_no_history(tmp_path) -> None:
    split = block_split(num_users=60)
    config = ExperimentConfig.from_dict(
        {
            "model": {"name": "multvae", **TINY_VAE, "hidden_dims": [16]},
            "train": {"progress": False},
            "eval": {"metrics": ["ndcg@10"]},
            "privacy": {"target_epsilon": 4.0, "accountant": "rdp"},
        }
    )
    result = run_experiment(config, split=split, out_dir=tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    spent = metrics["privacy"]
    assert set(spent) >= {"epsilon", "delta", "noise_multiplier", "sample_rate", "steps", "unit"}
    assert spent["epsilon"] <= 4.0 and spent["holdout_users"] == 6
    folder = tmp_path / "run" / "model"
    assert not (folder / "history.safetensors").exists()
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["privacy"]["epsilon"] == spent["epsilon"]
    held = set(result.nonmembers.user_vocab.raw(result.nonmembers.active_users))
    assert not held & set(result.split.train.user_vocab.raw(result.split.train.active_users))
    assert json.loads((folder / "vocab.json").read_text())["users"] == []  # no member ids
    loaded = load_model(folder)
    assert loaded.privacy == meta["privacy"] and loaded.history.items.size == 0
    assert len(loaded.recommend_history(["i0", "i4"], k=3).items[0]) == 3


def test_a_non_private_run_with_a_privacy_section_only_holds_users_out(tmp_path) -> None:
    split = block_split(num_users=60)
    config = ExperimentConfig.from_dict(
        {
            "model": {"name": "ease"},
            "eval": {"metrics": ["ndcg@10"]},
            "privacy": {"target_epsilon": None},
        }
    )
    result = run_experiment(config, split=split, out_dir=tmp_path / "run")
    assert result.metrics()["privacy"]["epsilon"] is None
    assert (tmp_path / "run" / "model" / "history.safetensors").exists()
