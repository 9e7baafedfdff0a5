"""``ssl4rec privacy audit`` and ``ssl4rec privacy encrypt`` on a run folder."""

from __future__ import annotations

import json

import polars as pl
from typer.testing import CliRunner

from ssl4rec.cli.main import app
from ssl4rec.runner.experiment import ExperimentConfig
from ssl4rec.runner.run import run_experiment
from ssl4rec.testing.synthetic import block_interactions


def _run(tmp_path, privacy: dict) -> object:
    data = block_interactions(num_users=60, num_items=200, density=0.3)
    csv = tmp_path / "events.csv"
    pl.DataFrame(
        {
            "user_id": data.user_vocab.raw(data.users),
            "item_id": data.item_vocab.raw(data.items),
            "timestamp": data.timestamps,
        }
    ).write_csv(csv)
    config = ExperimentConfig.from_dict(
        {
            "data": {
                "path": str(csv),
                "columns": {"user": "user_id", "item": "item_id", "timestamp": "timestamp"},
            },
            "model": {"name": "ease", "l2_reg": 1.0},
            "eval": {"metrics": ["ndcg@10"]},
            "privacy": privacy,
        }
    )
    out = tmp_path / "run"
    run_experiment(config, out_dir=out)
    return out


def test_audit_prints_both_attacks_with_intervals(tmp_path) -> None:
    out = _run(tmp_path, {"target_epsilon": None, "holdout_users": 0.2})
    result = CliRunner().invoke(app, ["privacy", "audit", str(out), "--json", "--rounds", "200"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["epsilon"] is None and body["nonmembers"] == 12
    for attack in ("loss_threshold", "calibrated"):
        lo, hi = body[attack]["ci95"]
        assert lo <= body[attack]["auc"] <= hi
    assert body["calibrated"]["auc"] > 0.7  # EASE remembers its training users
    table = CliRunner().invoke(app, ["privacy", "audit", str(out), "--rounds", "200"])
    assert "calibrated" in table.output and "non-private" in table.output


def test_audit_needs_held_out_users(tmp_path) -> None:
    out = _run(tmp_path, {"target_epsilon": None, "holdout_users": 0.0})
    result = CliRunner().invoke(app, ["privacy", "audit", str(out)])
    assert result.exit_code != 0 and "held no users out" in str(result.exception)


def test_encrypt_command_needs_a_key_and_encrypts(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SSL4REC_DB_KEY", raising=False)
    out = _run(tmp_path, {"target_epsilon": None})
    result = CliRunner().invoke(app, ["privacy", "encrypt", str(out)])
    assert "needs a key" in str(result.exception)
    key = tmp_path / "k"
    key.write_text("ab" * 32)
    result = CliRunner().invoke(app, ["privacy", "encrypt", str(out), "--key-file", str(key)])
    assert "history.safetensors, vocab.json" in result.output
    audit = CliRunner().invoke(app, ["privacy", "audit", str(out), "--json", "--key-file", str(key)])
    assert audit.exit_code == 0, audit.output
