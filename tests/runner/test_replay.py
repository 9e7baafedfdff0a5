"""The replay: time-ordered stream, three policies scored before each window, totals, plot."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

import pytest

from ssl4rec.cli.main import app
from ssl4rec.errors import ConfigError
from ssl4rec.runner.replay import ReplayConfig, _score_events, load_replay_config, replay
from ssl4rec.testing.synthetic import cycle_data


@pytest.fixture
def replay_yaml(tmp_path):
    data = cycle_data(num_users=60, num_items=40, length=10)
    frame = data.to_frame(raw_ids=True)
    frame.write_csv(tmp_path / "events.csv")
    (tmp_path / "exp.yaml").write_text(
        f"""
data:
  path: {tmp_path / "events.csv"}
  columns: {{user: user, item: item, timestamp: timestamp}}
split: {{protocol: loo}}
model: {{name: sasrec, embedding_dim: 16, num_layers: 1, num_heads: 2, ff_dim: 32,
        dropout: 0.0, batch_size: 32, learning_rate: 0.01, max_seq_len: 8, epochs: 3}}
train: {{progress: false}}
"""
    )
    (tmp_path / "replay.yaml").write_text(
        f"""
experiment: {tmp_path / "exp.yaml"}
window: 60
update_every: 1
seeds: [0, 1]
update: {{epochs: 1}}
"""
    )
    return tmp_path / "replay.yaml"


def test_replay_scores_every_streamed_event_for_three_policies(replay_yaml, tmp_path) -> None:
    result = replay(load_replay_config(replay_yaml), out=tmp_path / "out")
    run = result["seeds"][0]
    assert run["events"] == 600 and run["stream_events"] == 180
    assert [w["events"] for w in run["windows"]["static"]] == [60, 60, 60]
    assert len(run["updates"]) == 2  # after windows 1 and 2, not after the last one
    for policy in ("static", "folding", "online"):
        totals = result["policies"][policy]
        assert 0.0 <= totals["ndcg@10"] <= totals["hit@10"] <= 1.0
    # the planted next-item signal: folding the stream into histories beats the frozen ones
    assert result["policies"]["folding"]["ndcg@10"] > result["policies"]["static"]["ndcg@10"]
    assert (tmp_path / "out" / "replay.png").stat().st_size > 1000
    saved = json.loads((tmp_path / "out" / "replay.json").read_text())
    assert saved["policies"] == result["policies"]


def test_score_events_ranks_against_the_full_catalog() -> None:
    class Fixed:
        def score_history(self, histories):
            import torch

            return torch.arange(20, dtype=torch.float32).flip(0).repeat(len(histories), 1)

    # item 0 scores best; masked when in the history
    ndcg, hit = _score_events(
        Fixed(), [np.array([], dtype=np.int32), np.array([0])], np.array([0, 1]), 10
    )
    assert hit == 2.0 and ndcg == pytest.approx(1.0 + 1.0)
    ndcg, hit = _score_events(Fixed(), [np.array([], dtype=np.int32)], np.array([12]), 10)
    assert hit == 0.0 and ndcg == 0.0
    ndcg, _ = _score_events(Fixed(), [np.array([], dtype=np.int32)], np.array([2]), 10)
    assert ndcg == pytest.approx(1 / np.log2(4))


def test_cli_replay_json(replay_yaml) -> None:
    res = CliRunner().invoke(app, ["replay", str(replay_yaml), "--set", "seeds=[0]", "--json"])
    assert res.exit_code == 0, res.output
    totals = json.loads(res.output[res.output.index("{") :])
    assert set(totals) == {"static", "folding", "online"} and "ndcg@10" in totals["online"]


def test_bad_replay_config(tmp_path) -> None:
    with pytest.raises(ConfigError, match="ReplayConfig.window must be > 0"):
        ReplayConfig(experiment="x", window=0)
    (tmp_path / "r.yaml").write_text("experiment: x\nwindoww: 5\n")
    with pytest.raises(ConfigError, match="unknown field 'windoww'"):
        load_replay_config(tmp_path / "r.yaml")
