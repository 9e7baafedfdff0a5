"""``ssl4rec explain``: the explained top-10, one item, JSON, the heatmap, fidelity, bad input.

Run folders are written by ``run_experiment`` on a small planted dataset with titles
(a walk around an item cycle); ``ssl4rec.runner.load_data`` is pointed at the same
data, so ``--fidelity`` re-makes the run's split from it as for a real dataset.
"""

from __future__ import annotations

import json
import shutil
import struct
import sys

import numpy as np
from typer.testing import CliRunner

import pytest

from ssl4rec.cli.main import app, main
from ssl4rec.explain import explain, supported_methods
from ssl4rec.models.base import load_model
from ssl4rec.runner import run_experiment
from ssl4rec.runner.experiment import ExperimentConfig
from ssl4rec.testing.fakes import HashTextEncoder
from ssl4rec.testing.synthetic import TINY_SEQUENTIAL, cycle_data

LONELY = "u59"
"""A user whose events were all dropped from the data: known, with an empty history."""


def _data():
    data = cycle_data(num_users=60, num_items=40, length=12)
    return data.select(data.users != data.user_vocab.index(LONELY))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Run folders of EASE and of a tiny text-enhanced SASRec (hash text encoder)."""
    import ssl4rec.text.sentence_transformers as st

    patch = pytest.MonkeyPatch()
    patch.setattr(st, "SentenceTransformerEncoder", lambda name: HashTextEncoder(16))
    root = tmp_path_factory.mktemp("runs")
    base = {"data": {"dataset": "ml-100k"}, "split": {"protocol": "temporal_ratio"}}
    sasrec = {**TINY_SEQUENTIAL, "name": "sasrec", "item_repr": "id+text", "epochs": 2}
    configs = {
        "ease": {**base, "model": {"name": "ease"}},
        "sasrec": {**base, "model": sasrec, "train": {"patience": None, "progress": False}},
    }
    data = _data()
    for name, config in configs.items():
        run_experiment(ExperimentConfig.from_dict(config), data=data, out_dir=root / name)
    yield root
    patch.undo()


@pytest.fixture(autouse=True)
def stand_ins(monkeypatch):
    """The run's data (instead of ml-100k) and the hash encoder (instead of MiniLM)."""
    import ssl4rec.runner
    import ssl4rec.text.sentence_transformers as st

    data = _data()
    monkeypatch.setattr(ssl4rec.runner, "load_data", lambda config, home=None: data)
    monkeypatch.setattr(st, "SentenceTransformerEncoder", lambda name: HashTextEncoder(16))


def _invoke(*args):
    result = CliRunner().invoke(app, ["explain", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.stdout


def _table(out: str) -> list[list[str]]:
    """The cells of a printed table (columns split on two or more spaces)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line) <= {"-", " "} and line) + 1
    rows = []
    for line in lines[start:]:
        if not line.strip() or line.startswith("heatmap:"):
            break
        rows.append([cell.strip() for cell in line.strip().split("  ") if cell.strip()])
    return rows


def test_the_top_10_is_explained_with_the_default_method(runs):
    model = load_model(runs / "ease" / "model")
    rows = _table(_invoke(runs / "ease", "--user", "u0"))
    assert [row[0] for row in rows] == [str(r) for r in range(1, 11)]
    recs = model.recommend("u0", 10)
    titles = [f"movie number {i[1:]}" for i in recs.items[0]]
    assert [row[1] for row in rows] == titles
    assert {row[-1] for row in rows} == {supported_methods(model)[0]}
    # because: history titles with their weights, different per recommendation
    assert all(row[2].startswith("movie number ") and "(" in row[2] for row in rows)
    assert len({row[2] for row in rows}) > 1


def test_json_gives_each_history_item_its_weight(runs):
    out = json.loads(_invoke(runs / "ease", "--user", "u3", "--json", "--method", "occlusion"))
    model = load_model(runs / "ease" / "model")
    history = model.history.sequence(model.user_vocab.index("u3"))
    assert out["user"] == "u3" and len(out["items"]) == 10
    for row in out["items"]:
        item = model.item_vocab.index(row["item"])
        expected = explain(model, history, [item], method="occlusion")[0]
        assert row["method"] == "occlusion"
        assert [w["item"] for w in row["weights"]] == list(model.item_vocab.raw(history))
        np.testing.assert_allclose([w["weight"] for w in row["weights"]], expected.weights)
        assert row["sentence"] == expected.sentence and row["sentence"]
        assert row["tokens"] == []  # EASE reads no item text


def test_one_item_gets_its_rank_among_unseen_items(runs):
    model = load_model(runs / "ease" / "model")
    fifth = model.recommend("u0", 5).items[0][4]
    (row,) = json.loads(_invoke(runs / "ease", "--user", "u0", "--item", fifth, "--json"))["items"]
    assert row["item"] == fifth and row["rank"] == 5
    seen = model.item_vocab.raw(model.history.sequence(model.user_vocab.index("u0")))[0]
    (row,) = json.loads(_invoke(runs / "ease", "--user", "u0", "--item", seen, "--json"))["items"]
    assert row["rank"] is None
    assert _table(_invoke(runs / "ease", "--user", "u0", "--item", seen))[0][0] == "seen"


def test_a_text_model_weighs_the_words_of_each_item(runs):
    out = json.loads(_invoke(runs / "sasrec", "--user", "u1", "--json"))
    for row in out["items"]:
        words = [word for word, _ in row["tokens"]]
        assert words and set(words) <= set(row["title"].split()) | {"movie", "number"}


def test_png_is_a_heatmap_of_the_top_10(runs, tmp_path):
    path = tmp_path / "why.png"
    out = _invoke(runs / "sasrec", "--user", "u2", "--png", path)
    assert f"heatmap: {path}" in out
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 400 and height >= 300


def test_fidelity_json_has_every_supported_method(runs):
    model = load_model(runs / "ease" / "model")
    out = json.loads(_invoke(runs / "ease", "--fidelity", "--json", "--users", "30"))
    assert list(out) == supported_methods(model)
    for values in out.values():
        assert set(values) == {
            "deletion_auc",
            "random_deletion_auc",
            "recent_deletion_auc",
            "insertion_auc",
            "share_beats_random",
        }
        assert all(0.0 <= v <= 1.0 for v in values.values())
    exact = out["item-weights"]  # EASE's true contributions
    assert exact["deletion_auc"] < exact["random_deletion_auc"]
    assert exact["share_beats_random"] > 0.7


def test_fidelity_of_one_method_as_a_table(runs):
    out = _invoke(runs / "sasrec", "--fidelity", "--method", "occlusion", "--users", "10")
    assert "over 10 users (seed 0)" in out
    rows = _table(out)
    assert [row[0] for row in rows] == ["occlusion"] and len(rows[0]) == 6


def test_a_user_without_history_gets_the_popularity_fallback(runs):
    rows = _table(_invoke(runs / "ease", "--user", LONELY))
    assert len(rows) == 10
    assert all("Popular among all users" in row[2] and row[3] == "popularity" for row in rows)


def test_recommend_and_explain_give_the_same_reasons(runs):
    result = CliRunner().invoke(app, ["recommend", str(runs / "sasrec"), "--user", "u4", "--json"])
    assert result.exit_code == 0, result.output
    recommended = json.loads(result.stdout)["items"]
    explained = json.loads(_invoke(runs / "sasrec", "--user", "u4", "--json"))["items"]
    assert [r["because"] for r in recommended] == [r["because"] for r in explained]
    assert {r["method"] for r in recommended} == {
        supported_methods(load_model(runs / "sasrec" / "model"))[0]
    }


def _error(monkeypatch, capsys, *args) -> str:
    """Run ``ssl4rec explain ARGS`` as the console script does; its one stderr line."""
    monkeypatch.setattr(sys, "argv", ["ssl4rec", "explain", *map(str, args)])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    return err


def test_bad_input_is_one_named_line_with_exit_2(runs, monkeypatch, capsys, tmp_path):
    run = runs / "ease"
    assert "unknown user id 'nobody'" in _error(monkeypatch, capsys, run, "--user", "nobody")
    err = _error(monkeypatch, capsys, run, "--user", "u0", "--item", "i999")
    assert "unknown item id 'i999'" in err
    err = _error(monkeypatch, capsys, run, "--user", "u0", "--method", "attention-rollout")
    assert "one of ['item-weights', 'occlusion', 'margin-occlusion'] for EASE; got 'attention-rollout'" in err
    err = _error(monkeypatch, capsys, run, "--fidelity", "--user", "u0")
    assert "drop --user" in err
    assert "needs --user" in _error(monkeypatch, capsys, run)
    bare = shutil.copytree(run / "model", tmp_path / "copied")  # no run folder around it
    assert "got a bare model folder" in _error(monkeypatch, capsys, bare, "--fidelity")


def test_the_model_folder_of_a_run_finds_the_run(runs):
    out = json.loads(_invoke(runs / "ease" / "model", "--fidelity", "--json", "--users", "5"))
    assert "item-weights" in out


def test_help_lists_the_options_without_value_placeholders_for_flags():
    result = CliRunner().invoke(app, ["explain", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--user", "--item", "--method", "--png", "--json", "--fidelity", "--users"):
        assert option in result.output
    assert "<bool>" not in result.output
