"""Online updates: warm start, the guard, no-op without events, refused models; the CLI."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

import pytest

from ssl4rec.cli.main import app
from ssl4rec.errors import ConfigError
from ssl4rec.models.bpr import BPR
from ssl4rec.models.ease import EASE
from ssl4rec.models.sasrec import SASRec, SASRecConfig
from ssl4rec.runner.online import UpdateConfig, update_model
from ssl4rec.testing.synthetic import TINY_SEQUENTIAL, cycle_data

NUM_ITEMS = 12


@pytest.fixture(scope="module")
def sasrec() -> SASRec:
    config = SASRecConfig(**{**TINY_SEQUENTIAL, "epochs": 2})  # type: ignore[arg-type]
    return SASRec(config).fit(cycle_data(num_items=NUM_ITEMS))


def cycle_events(users: int = 20, length: int = 8, seed: int = 1) -> list[tuple[str, str, int]]:
    """New users walking the same item cycle as the training data."""
    rng = np.random.default_rng(seed)
    out = []
    for u in range(users):
        start = int(rng.integers(NUM_ITEMS))
        out += [(f"n{u}", f"i{(start + t) % NUM_ITEMS}", 1000 + 100 * u + t) for t in range(length)]
    return out


def test_update_learns_the_new_events_and_the_guard_compares_on_the_recent_slice(sasrec) -> None:
    before = {k: v.clone() for k, v in sasrec.net.state_dict().items()}
    result = update_model(sasrec, cycle_events(), config=UpdateConfig(epochs=8))
    assert result.num_events == 160 and result.num_holdout == 32 and result.num_users == 20
    assert result.summary["epochs_run"] >= 1
    # the served model is untouched: the update trained a copy
    assert all(torch_equal(before[k], v) for k, v in sasrec.net.state_dict().items())
    assert not all(torch_equal(before[k], v) for k, v in result.model.net.state_dict().items())
    # a planted next-item signal: 8 more epochs on it do not make the model worse
    assert result.new_metric >= result.old_metric - 1e-9
    assert result.accepted and result.reason.startswith("accepted")
    # the updated model serves from the old training history (events come from the store)
    assert result.model.history is sasrec.history and result.model.user_vocab is sasrec.user_vocab


def test_guard_rejects_a_worse_model(sasrec) -> None:
    # many new users walk the cycle backwards; the held-out slice walks it forwards
    rng = np.random.default_rng(0)
    events = []
    for u in range(10):
        start = int(rng.integers(NUM_ITEMS))
        events += [(f"f{u}", f"i{(start + t) % NUM_ITEMS}", 10**6 + 100 * t + u) for t in range(8)]
    for u in range(40):
        start = int(rng.integers(NUM_ITEMS))
        events += [(f"b{u}", f"i{(start - t) % NUM_ITEMS}", 1000 + 100 * u + t) for t in range(8)]
    config = UpdateConfig(epochs=1, holdout=0.1, replay=0.0)
    result = update_model(sasrec, events, config=config)
    assert result.num_holdout == 40 and not result.accepted
    assert result.new_metric < result.old_metric
    assert result.reason.startswith("rejected: held-out ndcg@10")
    assert result.model is not None  # kept aside
    tolerant = update_model(
        sasrec, events, config=UpdateConfig(epochs=1, holdout=0.1, replay=0.0, tolerance=1.0)
    )
    assert tolerant.accepted


def test_no_new_events_changes_nothing(sasrec) -> None:
    for events in ([], [("x", "i1", 5)], [("x", "unknown", 5), ("y", "nope", 6)]):
        result = update_model(sasrec, events)
        assert result.model is None and not result.accepted
        assert result.reason.startswith("no update")
    assert update_model(sasrec, [("x", "nope", 1)]).num_unknown == 1


def test_closed_form_models_are_solved_again_on_all_histories() -> None:
    data = cycle_data(num_items=NUM_ITEMS)
    ease = EASE(l2_reg=1.0).fit(data)
    result = update_model(ease, cycle_events())
    assert result.num_train_events == len(data) + 128  # every history + the new events
    assert result.model is not ease and result.accepted in (True, False)


def test_models_with_per_user_parameters_are_refused() -> None:
    bpr = BPR(embedding_dim=8, epochs=1).fit(cycle_data(num_items=NUM_ITEMS))
    with pytest.raises(ConfigError, match="per-user parameters"):
        update_model(bpr, cycle_events())


def test_bad_update_config() -> None:
    with pytest.raises(ConfigError, match=r"UpdateConfig.holdout must be in \(0.0, 1.0\)"):
        UpdateConfig(holdout=1.0)


def test_cli_update(sasrec, tmp_path) -> None:
    from ssl4rec.serving.store import EventRecord, EventStore

    run = tmp_path / "run"
    sasrec.save(run / "model")
    db = tmp_path / "events.sqlite"
    store = EventStore(f"sqlite:///{db}")
    runner = CliRunner()
    args = ["update", str(run), "--db", str(db), "--out", str(tmp_path / "new")]
    res = runner.invoke(app, args)
    assert res.exit_code == 0 and "nothing to update" in res.output
    assert not (tmp_path / "new").exists()
    store.add([EventRecord(u, i, t) for u, i, t in cycle_events()])
    store.close()
    res = runner.invoke(app, [*args, "--epochs", "4", "--tolerance", "1", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output[res.output.index("{") :])
    assert report["accepted"] and report["num_events"] == 160
    update = json.loads((tmp_path / "new" / "update.json").read_text())
    assert update["last_event_id"] == 160
    assert (tmp_path / "new" / "model" / "weights.safetensors").is_file()
    # the new run has seen every stored event: updating it again has nothing to do
    again = ["update", str(tmp_path / "new"), "--db", str(db), "--out", str(tmp_path / "n2")]
    res = runner.invoke(app, again)
    assert res.exit_code == 0 and "nothing to update" in res.output


def torch_equal(a, b) -> bool:
    return bool((a == b).all())
