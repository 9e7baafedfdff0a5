"""EvalResult accessors and exports."""

from __future__ import annotations

import json

import numpy as np
import polars as pl

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.evaluation import EvalResult


@pytest.fixture
def result() -> EvalResult:
    return EvalResult(
        metrics={"ndcg@10": 0.25, "coverage@10": 0.5},
        per_user={"ndcg@10": np.array([0.0, 0.5])},
        users=np.array([3, 7]),
        protocol="full",
        exclude_seen=True,
        part="test",
        num_users=2,
        seconds=0.01,
    )


def test_mean_and_lookup(result: EvalResult) -> None:
    assert result.mean("ndcg@10") == 0.25
    assert result["Coverage@10"] == 0.5
    with pytest.raises(ConfigError, match=r"'recall@10' was not evaluated; available: \['ndcg@10'"):
        result.mean("recall@10")


def test_to_dict_is_json(result: EvalResult) -> None:
    data = json.loads(json.dumps(result.to_dict()))
    assert data["metrics"] == {"ndcg@10": 0.25, "coverage@10": 0.5}
    assert data["protocol"] == "full" and data["num_users"] == 2 and data["exclude_seen"] is True


def test_frames(result: EvalResult) -> None:
    frame = result.to_frame()
    assert frame.get_column("metric").to_list() == ["ndcg@10", "coverage@10"]
    assert frame.schema["value"] == pl.Float64
    per_user = result.per_user_frame()
    assert per_user.get_column("user").to_list() == [3, 7]
    assert per_user.get_column("ndcg@10").to_list() == [0.0, 0.5]
    assert "ndcg@10=0.2500" in result.summary()
