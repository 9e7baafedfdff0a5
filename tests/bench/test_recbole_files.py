"""The RecBole peer's atomic benchmark-file writer (RecBole itself is not needed)."""

from __future__ import annotations

import numpy as np

from ssl4rec.bench.peers.recbole import parse_metrics, recbole_config, write_benchmark_files
from ssl4rec.bench.suite import load_suite
from ssl4rec.data.sources import load_tabular
from ssl4rec.data.splits import make_split


def _split(tiny_csv, protocol):
    data = load_tabular(tiny_csv, user_col="user", item_col="item", time_col="ts")
    return make_split(data, protocol)


def _rows(path):
    lines = path.read_text().splitlines()
    return lines[0], [line.split("\t") for line in lines[1:]]


def test_general_files_hold_the_exact_split(tiny_csv, tmp_path):
    split = _split(tiny_csv, "temporal_ratio")
    folder = write_benchmark_files(split, tmp_path, "tiny")
    for part in ("train", "valid", "test"):
        header, rows = _rows(folder / f"tiny.{part}.inter")
        assert header == "user_id:token\titem_id:token\ttimestamp:float"
        data = split.part(part)
        got = sorted((int(u), int(i)) for u, i, _ in rows)
        want = sorted(zip(data.users.tolist(), data.items.tolist(), strict=True))
        assert got == want


def test_sequential_files_carry_histories(tiny_csv, tmp_path):
    split = _split(tiny_csv, "loo")
    folder = write_benchmark_files(split, tmp_path, "seq", sequential=True, max_seq_len=3)
    header, test_rows = _rows(folder / "seq.test.inter")
    assert header == "user_id:token\titem_id_list:token_seq\titem_id:token"
    assert len(test_rows) == split.test.num_users == len(np.unique(split.test.users))
    user, hist, target = test_rows[0]
    full = np.concatenate([split.train.sequences()[int(user)], split.valid.sequences()[int(user)]])
    assert hist.split() == [str(i) for i in full[-3:]]
    assert int(target) == split.test.sequences()[int(user)][0]
    _, train_rows = _rows(folder / "seq.train.inter")
    assert len(train_rows) == len(split.train) - split.train.num_users


def test_parse_metrics_maps_names():
    out = parse_metrics({"ndcg@10": 0.1, "itemcoverage@10": 0.2, "giniindex@10": 0.9, "x": 1})
    assert out == {"ndcg@10": 0.1, "coverage@10": 0.2, "gini@10": 0.9}


def test_recbole_runs_the_epochs_of_our_model_config(tmp_path):
    suite = load_suite("ciao-speed")
    suite.validate()  # every cell's experiment config loads
    entry = next(e for e in suite.models if e.label == "multdae")
    assert suite.experiment(entry, 0).model.epochs == 5
    config = recbole_config(
        suite, entry, 0, data_path=tmp_path, dataset="ciao", checkpoint_dir=tmp_path
    )
    assert config["epochs"] == 5
    assert config["stopping_step"] == 10**6  # patience: null in the suite


def test_the_peer_split_reads_a_data_section_with_a_path_and_no_dataset(tiny_csv):
    import json

    from ssl4rec.bench.peers.recbole import _suite_split

    # as the Amazon suites write it: a path clears the default dataset (ml-100k)
    data = {
        "path": str(tiny_csv),
        "format": "csv",
        "columns": {"user": "user", "item": "item", "timestamp": "ts"},
    }
    split = _suite_split(json.dumps({"data": data, "split": {"protocol": "loo"}}, sort_keys=True))
    assert split.test.num_users == 16 and len(split.test) == 16
