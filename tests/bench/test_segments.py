"""Cold/warm user segments and paired tests over a finished suite's per-user values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import pytest

from ssl4rec.bench.segments import activity_rows, paired_rows, render_segments, segment_means
from ssl4rec.bench.suite import cell_id, load_suite
from ssl4rec.errors import DataError

SUITE = """
name: tiny-social
description: two rows
data: {dataset: ml-100k}
split: {protocol: temporal_ratio}
eval: {metrics: [ndcg@10]}
seeds: [0, 1]
models:
  - label: plain
    model: {name: lightgcn, epochs: 1}
  - label: trust
    model: {name: lightgcn, epochs: 1}
    data: {social: trust.tsv}
"""

COUNTS = np.array([0, 2, 4, 5, 9, 30])  # train events of users 0..5: users 0-2 are cold (< 5)


def _cell(out: Path, label: str, seed: int, users: list[int], values: list[float]) -> None:
    folder = out / "cells" / cell_id(label, seed)
    folder.mkdir(parents=True)
    np.savez(folder / "per_user.npz", users=np.array(users), **{"m:ndcg@10": np.array(values)})


def test_segment_means_split_at_the_threshold() -> None:
    means = segment_means(np.array([0, 3, 5]), np.array([0.2, 0.4, 0.6]), COUNTS, 5)
    assert means["cold"] == (pytest.approx(0.2), 1)
    assert means["warm"] == (pytest.approx(0.5), 2)
    assert means["all"][1] == 3
    assert math.isnan(segment_means(np.array([5]), np.array([1.0]), COUNTS, 5)["cold"][0])


def test_rows_pairs_and_table(tmp_path: Path) -> None:
    (tmp_path / "suite.yaml").write_text(SUITE, encoding="utf-8")
    suite = load_suite(tmp_path / "suite.yaml")
    assert suite.experiment_dict(suite.models[1], 0)["data"] == {
        "dataset": "ml-100k",
        "social": "trust.tsv",
    }
    out = tmp_path / "out"
    users = [5, 0, 1, 4]  # any order: values are aligned by user
    _cell(out, "plain", 0, users, [0.5, 0.0, 0.1, 0.4])
    _cell(out, "plain", 1, users, [0.5, 0.2, 0.1, 0.4])
    _cell(out, "trust", 0, users, [0.5, 0.3, 0.4, 0.4])
    rows = activity_rows(suite, out, COUNTS, metric="ndcg@10", cold_below=5)
    plain, trust = rows
    assert plain.seeds == (0, 1) and trust.seeds == (0,)
    assert plain.users == {"all": 4, "cold": 2, "warm": 2}
    assert plain.means["cold"] == pytest.approx((0.05 + 0.15) / 2)
    assert plain.stds["cold"] == pytest.approx(0.05)
    assert trust.means["warm"] == pytest.approx(0.45)
    table = render_segments(rows, "ndcg@10", 5)
    assert "| trust | 1 | 0.4000 ± 0.0000 | 0.3500 ± 0.0000 | 0.4500 ± 0.0000 |" in table
    cold = paired_rows(out, "plain", "trust", suite.seeds, "ndcg@10", COUNTS, 5)
    assert cold["num_users"] == 2
    assert cold["mean_diff"] == pytest.approx(0.35 - 0.1)
    every = paired_rows(out, "plain", "trust", suite.seeds, "ndcg@10")
    assert every["num_users"] == 4
    with pytest.raises(DataError, match="no per-user values for row 'missing'"):
        paired_rows(out, "plain", "missing", suite.seeds, "ndcg@10")
