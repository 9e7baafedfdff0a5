"""The case configs (cases/*/*.yaml) run end to end on small fixtures in the official formats."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import pytest

from ssl4rec.runner import run_experiment
from ssl4rec.runner.experiment import load_experiment

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "cases"
ASSETS = ROOT / "tests" / "assets"
QUICK = ["model.epochs=2", "train.time_budget_s=null", "train.progress=false", "train.num_threads=1"]


def _ciao(folder: Path, num_users: int = 40, num_items: int = 30) -> None:
    """Ratings with timestamps and a trust network, in the Ciao TSV layout."""
    rng = np.random.default_rng(0)
    lines = ["userid\tproductid\tcategoryid\trating\thelpfulness\ttimestamp"]
    for u in range(1, num_users + 1):
        own = [i for i in range(1, num_items + 1) if i % 3 == u % 3]
        for i in rng.choice(own, size=6, replace=False):
            lines.append(f"{u}\t{i}\t1\t{rng.integers(1, 6)}\t4\t{rng.integers(1_000, 4_000)}")
    (folder / "ratings_with_timestamp.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    trust = ["trustor\ttrustee"] + [f"{u}\t{u + 3}" for u in range(1, num_users - 2)]
    (folder / "trustnetwork.tsv").write_text("\n".join(trust) + "\n", encoding="utf-8")


@pytest.mark.parametrize("name", ["lightgcn", "lightgcn-trust", "xsimgcl-trust"])
def test_social_case_configs_run_on_a_ciao_fixture(tmp_path: Path, name: str) -> None:
    _ciao(tmp_path)
    overrides = [
        f"data.path={tmp_path / 'ratings_with_timestamp.tsv'}",
        "split.valid_start=3000",
        "split.test_start=3500",
        *QUICK,
    ]
    if name != "lightgcn":
        overrides.append(f"data.social={tmp_path / 'trustnetwork.tsv'}")
    config = load_experiment(CASES / "social" / f"{name}.yaml", overrides=overrides)
    result = run_experiment(config)
    assert 0.0 <= result.test.metrics["ndcg@10"] <= 1.0
    if name == "lightgcn":
        assert result.model.social is None
    else:
        assert len(result.model.social) == 37  # every trust pair names two known users


def _lastfm_with_friends(folder: Path) -> None:
    for file in (ASSETS / "lastfm").iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    (folder / "user_friends.dat").write_text("userID\tfriendID\n2\t3\n3\t2\n", encoding="utf-8")


@pytest.mark.parametrize("name", ["lightgcn-friends", "xsimgcl"])
def test_music_case_configs_run_on_a_lastfm_fixture(tmp_path: Path, name: str) -> None:
    _lastfm_with_friends(tmp_path)
    overrides = [f"data.path={tmp_path}", "split.ratios=[0.34, 0.33, 0.33]", *QUICK]
    if name == "lightgcn-friends":
        overrides.append(f"data.social={tmp_path / 'user_friends.dat'}")
    config = load_experiment(CASES / "music" / f"{name}.yaml", overrides=overrides)
    result = run_experiment(config)
    assert result.model.item_table["tags"].to_list()[0] == ["80s", "new wave"]  # item text kept
    assert (result.model.social is not None) == (name == "lightgcn-friends")


def test_music_text_decoder_config_runs_on_a_lastfm_fixture(tmp_path: Path) -> None:
    from ssl4rec.testing.fakes import HashTextEncoder
    from ssl4rec.text.cache import item_embeddings

    _lastfm_with_friends(tmp_path)
    overrides = [f"data.path={tmp_path}", "split.ratios=[0.34, 0.33, 0.33]", *QUICK]
    config = load_experiment(CASES / "music" / "multvae-text.yaml", overrides=overrides)
    assert config.model.item_repr == "text"
    encoder, cache = HashTextEncoder(16), tmp_path / "emb"
    result = run_experiment(config, item_text=lambda data: item_embeddings(data, encoder, cache_dir=cache))
    assert encoder.num_encoded == result.model.num_items  # artist name + tags, encoded once
    assert result.test.num_users > 0


@pytest.mark.parametrize("name", ["lightgcn", "sasrec-text"])
def test_ecommerce_case_configs_validate_and_graph_runs(tmp_path: Path, name: str) -> None:
    overrides = [f"data.path={ASSETS / 'amazon-unisrec'}", *QUICK]
    config = load_experiment(CASES / "ecommerce" / f"{name}.yaml", overrides=overrides)
    if name == "lightgcn":
        result = run_experiment(config)
        assert result.test.num_users > 0
    else:
        assert config.model.item_repr == "id+text"
