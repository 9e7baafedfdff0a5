"""Fixtures of the benchmark tests: a tiny CSV dataset and suite files on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

import pytest


@pytest.fixture()
def tiny_csv(tmp_path: Path) -> Path:
    """16 users x 12 items in two taste blocks, 10 timed events per user."""
    lines = ["user,item,ts"]
    for user in range(16):
        offset = 0 if user % 2 == 0 else 6
        for step in range(10):
            item = offset + (step + user) % 6 if step < 8 else (step + user) % 12
            lines.append(f"u{user},i{item}_{step % 2},{1000 * user + step}")
    path = tmp_path / "events.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def make_suite(tmp_path: Path, tiny_csv: Path):
    """Write a suite YAML on the tiny dataset; keyword changes update the top level."""

    def make(models: list[dict[str, Any]] | None = None, **changes: Any) -> Path:
        data: dict[str, Any] = {
            "name": "tiny",
            "description": "tiny CSV",
            "data": {
                "dataset": None,
                "path": str(tiny_csv),
                "format": "csv",
                "columns": {"user": "user", "item": "item", "timestamp": "ts"},
            },
            "split": {"protocol": "temporal_ratio"},
            "eval": {"metrics": ["ndcg@5", "recall@5", "coverage@5", "novelty@5"]},
            "seeds": [0],
            "report": {
                "primary": "ndcg@5",
                "columns": ["ndcg@5", "recall@5"],
                "beyond": ["coverage@5", "novelty@5"],
            },
            "models": models
            or [{"model": {"name": "pop"}}, {"model": {"name": "ease", "l2_reg": 10.0}}],
        }
        data.update(changes)
        path = tmp_path / "suite.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return make
