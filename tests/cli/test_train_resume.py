"""``ssl4rec train --resume RUN_DIR`` continues a run from its last checkpoint."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ssl4rec.cli.main import app
from ssl4rec.errors import ConfigError


def _experiment(tmp_path):
    rows = ["user,item,ts"]
    for user in range(30):
        for step in range(8):
            rows.append(f"u{user},i{(user % 3) * 5 + (step + user) % 5},{user * 10 + step}")
    (tmp_path / "events.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    path = tmp_path / "exp.yaml"
    path.write_text(
        f"data: {{path: {tmp_path / 'events.csv'}, format: csv,\n"
        "       columns: {user: user, item: item, timestamp: ts}}\n"
        "model: {name: multdae, hidden_dims: [8], embedding_dim: 4, epochs: 2, batch_size: 8}\n"
        "train: {progress: false, device: cpu, num_threads: 1, patience: null}\n"
        "eval: {metrics: [ndcg@5]}\n",
        encoding="utf-8",
    )
    return path


def test_resume_continues_from_the_last_checkpoint(tmp_path):
    run = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["train", "--config", str(_experiment(tmp_path)), "--out", str(run)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((run / "train" / "last.json").read_text())["state"]["epoch"] == 2
    result = CliRunner().invoke(app, ["train", "--resume", str(run), "--set", "model.epochs=3"])
    assert result.exit_code == 0, result.output
    log = (run / "train" / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in log] == [1, 2, 3]
    assert json.loads((run / "metrics.json").read_text())["train_summary"]["epochs_run"] == 3


def test_resume_needs_a_run_folder(tmp_path):
    result = CliRunner().invoke(app, ["train", "--resume", str(tmp_path)])
    assert isinstance(result.exception, ConfigError)
    assert "config.yaml not found" in str(result.exception)
    result = CliRunner().invoke(app, ["train"])
    assert isinstance(result.exception, ConfigError)
    assert "--config" in str(result.exception)
