"""A peer's score rows ranked by our evaluator with and without history masking.

Fake score matrices go through the same path as RecBole's rows (driver token
mapping -> .npz -> ``ScoreRows`` -> ``evaluate``); RecBole itself is not needed.
"""

from __future__ import annotations

import importlib.util
import math
from types import SimpleNamespace

import numpy as np

import pytest

from ssl4rec.bench.peers.recbole import DRIVER, _both_conventions
from ssl4rec.bench.peers.scores import ScoreRows, evaluate_score_rows, load_score_rows
from ssl4rec.bench.report.tables import aggregate, render_markdown
from ssl4rec.bench.suite import load_suite
from ssl4rec.data.sources import load_tabular
from ssl4rec.data.splits import make_split
from ssl4rec.errors import DataError


@pytest.fixture()
def split(tmp_path):
    """10 users x 8 distinct items each (no repeats: no target is in its history)."""
    rng = np.random.default_rng(3)
    lines = ["user,item,ts"]
    for user in range(10):
        for step, item in enumerate(rng.choice(15, size=8, replace=False)):
            lines.append(f"u{user},i{item},{100 * user + step}")
    path = tmp_path / "events.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = load_tabular(path, user_col="user", item_col="item", time_col="ts")
    return make_split(data, "loo")


def _history_first(split):
    """Scores that put every seen item (train and valid) above the test target.

    Seen items score 100 + position, the target 50, every other item 0..1.
    """
    users = np.unique(split.test.users)
    seen = split.seen_before("test")
    rng = np.random.default_rng(0)
    scores = rng.random((len(users), split.train.num_items)).astype(np.float32)
    targets = {}
    for row, user in enumerate(users):
        hist = seen[user].indices
        scores[row, hist] = 100.0 + np.arange(len(hist))
        target = int(split.test.sequences()[user][0])
        scores[row, target] = 50.0
        targets[int(user)] = (target, len(hist))
    return users, scores, targets


def test_masking_removes_train_and_valid_items(split):
    users, scores, targets = _history_first(split)
    both = evaluate_score_rows(users, scores, split, ["ndcg@10", "hit@1"])
    # masked: the target is the best unseen item for every user
    assert both[True].exclude_seen and not both[False].exclude_seen
    assert both[True].metrics["hit@1"] == 1.0
    assert both[True].metrics["ndcg@10"] == pytest.approx(1.0)
    # unmasked: the target sits right below the user's history
    want = np.mean([1 / math.log2(n + 2) if n < 10 else 0.0 for _, n in targets.values()])
    assert both[False].metrics["hit@1"] == 0.0
    assert both[False].metrics["ndcg@10"] == pytest.approx(want)


def test_valid_items_count_as_seen_for_test(split):
    users, scores, _ = _history_first(split)
    # only a valid item above the target: masking must remove exactly that one
    scores = np.where(scores >= 100.0, 0.0, scores).astype(np.float32)
    for row, user in enumerate(users):
        scores[row, int(split.valid.sequences()[user][0])] = 200.0
    both = evaluate_score_rows(users, scores, split, ["hit@1"])
    assert both[False].metrics["hit@1"] == 0.0
    assert both[True].metrics["hit@1"] == 1.0


def test_users_without_rows_count_as_misses(split):
    users, scores, _ = _history_first(split)
    both = evaluate_score_rows(users[1:], scores[1:], split, ["hit@1"])
    n = len(users)
    assert both[True].num_users == n
    assert both[True].metrics["hit@1"] == pytest.approx((n - 1) / n)


def test_narrow_rows_are_padded_and_bad_rows_refused(split):
    train = split.train
    rows = ScoreRows(np.array([0]), np.ones((1, 3), np.float32), train)
    got = rows.score(np.array([0, 1])).numpy()
    assert np.all(got[0, :3] == 1.0) and np.all(np.isneginf(got[0, 3:]))
    assert np.all(np.isneginf(got[1]))
    with pytest.raises(DataError, match="more than one score row"):
        ScoreRows(np.array([0, 0]), np.ones((2, 3), np.float32), train)
    with pytest.raises(DataError, match="catalog has"):
        ScoreRows(np.array([0]), np.ones((1, train.num_items + 1), np.float32), train)
    with pytest.raises(DataError, match=r"user indices must be in \[0"):
        ScoreRows(np.array([train.num_users]), np.ones((1, 3), np.float32), train)


def _driver():
    spec = importlib.util.spec_from_file_location("recbole_driver_under_test", DRIVER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_driver_maps_recbole_ids_back_to_our_indices(tmp_path):
    """RecBole's internal ids (0 = padding) -> the benchmark files' tokens (our indices)."""
    driver = _driver()
    dataset = SimpleNamespace(
        field2id_token={
            "user_id": np.array(["[PAD]", "2", "0"]),
            "item_id": np.array(["[PAD]", "3", "0", "1"]),
        }
    )
    config = {"USER_ID_FIELD": "user_id", "ITEM_ID_FIELD": "item_id"}
    rows = [
        (np.array([1]), np.array([[-np.inf, 0.3, 0.1, 0.2]], np.float32)),
        (np.array([2]), np.array([[-np.inf, 0.9, 0.8, 0.7]], np.float32)),
    ]
    path = str(tmp_path / "scores.npz")
    info = driver._write_scores(path, rows, dataset, config)
    assert info == {"score_rows": 2, "score_items": 3}
    users, scores = load_score_rows(path)
    assert users.tolist() == [2, 0]
    # our item 2 never reached RecBole: -inf
    np.testing.assert_array_equal(scores[0], np.array([0.1, 0.2, -np.inf, 0.3], np.float32))
    np.testing.assert_array_equal(scores[1], np.array([0.8, 0.7, -np.inf, 0.9], np.float32))


def test_peer_record_holds_both_conventions_and_reports_them(split, tmp_path):
    users, scores, _ = _history_first(split)
    path = tmp_path / "recbole_test_scores.npz"
    np.savez(path, users=users, scores=scores)
    suite = SimpleNamespace(eval={"exclude_seen": True}, metric_names=lambda: ["ndcg@10", "hit@1"])
    fields = _both_conventions(suite, split, path, {"ndcg@10": 0.25})  # type: ignore[arg-type]
    assert fields["exclude_seen"] is True and fields["valid_exclude_seen"] is False
    assert fields["metrics"]["hit@1"] == 1.0
    assert fields["views"]["exclude_seen=false"]["hit@1"] == 0.0
    assert fields["recbole_metrics"] == {"ndcg@10": 0.25}

    real = load_suite("ml100k-seq-earlystop")
    peer = {
        "suite": real.name,
        "side": "recbole",
        "model": "sasrec",
        "seed": 0,
        "status": "ok",
        "time_to_best_s": 100.0,
        "peak_rss_mb": 1000.0,
        **fields,
    }
    ours = {
        "suite": real.name,
        "side": "ssl4rec",
        "model": "sasrec",
        "seed": 0,
        "status": "ok",
        "exclude_seen": True,
        "metrics": {"ndcg@10": 0.5},
        "views": {"exclude_seen=false": {"ndcg@10": 0.4}},
        "time_to_best_s": 10.0,
        "peak_rss_mb": 500.0,
    }
    rows = aggregate([ours, peer], real)
    assert [r.exclude_seen for r in rows] == [True, True]
    text = render_markdown(real, {"records": [ours, peer]}, tmp_path)
    assert "(both exclude_seen=true)" in text and "(both exclude_seen=false)" in text
    assert "- recbole: yes (main table) and no (second table), one trained model" in text
    masked = fields["metrics"]["ndcg@10"]
    assert f"{0.5 / masked:.2f} (0.5 / {masked:.4g}) (both exclude_seen=true)" in text
    off = fields["views"]["exclude_seen=false"]["ndcg@10"]
    assert f"{0.4 / off:.2f} (0.4 / {off:.4g}) (both exclude_seen=false)" in text
