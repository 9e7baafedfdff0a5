"""``ssl4rec train --nproc 2``: two data-parallel processes through torchrun's launcher."""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404 - the CLI under test, an argument list without a shell
import sys

from ssl4rec.testing.synthetic import block_interactions

CONFIG = """\
data:
  path: {csv}
  columns: {{user: user, item: item, timestamp: timestamp}}
  preprocess: {{user_k: 1, item_k: 1}}
split:
  protocol: temporal_ratio
model:
  name: multvae
  hidden_dims: [32]
  embedding_dim: 16
  epochs: 3
  batch_size: 8
  learning_rate: 0.01
train:
  progress: false
"""


def test_train_with_two_processes_writes_one_run_folder(tmp_path):
    csv = tmp_path / "events.csv"
    block_interactions().to_frame(raw_ids=True).write_csv(csv)
    config = tmp_path / "tiny.yaml"
    config.write_text(CONFIG.format(csv=csv))
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    proc = subprocess.run(  # nosec B603 - fixed argument list
        [sys.executable, "-m", "ssl4rec.cli.main", "train", "--config", str(config)]
        + ["--nproc", "2", "--out", str(tmp_path / "run"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = json.loads(proc.stdout)  # rank 0 alone prints (one JSON document)
    assert 0.0 < printed["multvae"]["ndcg@10"] <= 1.0
    summary = json.loads((tmp_path / "run" / "train" / "metrics.json").read_text())
    assert summary["processes"] == 2 and summary["epochs_run"] == 3
    assert (tmp_path / "run" / "model").is_dir()
    assert (tmp_path / "run" / "train" / "last.safetensors").is_file()
