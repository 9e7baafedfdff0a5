"""``ssl4rec case``: list, show, train a case's served config, refuse to serve an untrained one."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ssl4rec.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "cases"
ASSETS = ROOT / "tests" / "assets"


def _run(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def test_list_and_show_the_shipped_cases(tmp_path: Path) -> None:
    listed = _run("case", "list", "--cases", str(CASES), "--runs", str(tmp_path), "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [(r["name"], r["serve"], r["trained"]) for r in rows] == [
        ("ecommerce", "sasrec-text", False),
        ("music", "lightgcn-friends", False),
        ("social", "lightgcn-trust", False),
    ]
    shown = _run("case", "show", "music", "--cases", str(CASES))
    assert shown.exit_code == 0, shown.output
    assert "non-commercial use only" in shown.output
    assert "configs:  lightgcn-friends, multvae-text, xsimgcl (served: lightgcn-friends)" in shown.output


def test_train_a_case_then_it_is_listed_as_trained(tmp_path: Path) -> None:
    data = tmp_path / "lastfm"
    data.mkdir()
    for file in (ASSETS / "lastfm").iterdir():
        (data / file.name).write_bytes(file.read_bytes())
    (data / "user_friends.dat").write_text("userID\tfriendID\n2\t3\n3\t2\n", encoding="utf-8")
    runs = tmp_path / "runs"
    sets = [
        f"data.path={data}",
        f"data.social={data / 'user_friends.dat'}",
        "split.ratios=[0.34, 0.33, 0.33]",
        "model.epochs=2",
        "train.time_budget_s=null",
        "train.progress=false",
    ]
    args = ["case", "train", "music", "--cases", str(CASES), "--runs", str(runs)]
    result = _run(*args, *[a for s in sets for a in ("--set", s)])
    assert result.exit_code == 0, result.output
    assert (runs / "music" / "model" / "meta.json").is_file()
    listed = json.loads(_run("case", "list", "--cases", str(CASES), "--runs", str(runs), "--json").output)
    assert {r["name"]: r["trained"] for r in listed} == {"ecommerce": False, "music": True, "social": False}


def test_serve_refuses_untrained_or_unknown_cases(tmp_path: Path) -> None:
    untrained = _run("case", "serve", "social", "--cases", str(CASES), "--runs", str(tmp_path))
    assert untrained.exit_code != 0
    assert "case 'social' has no trained model" in str(untrained.exception)
    assert "ssl4rec case train social" in str(untrained.exception)
    none = _run("case", "serve", "--cases", str(CASES), "--runs", str(tmp_path))
    assert "no trained case under" in str(none.exception)
    unknown = _run("case", "show", "movies", "--cases", str(CASES))
    assert "no case 'movies'" in str(unknown.exception)
    assert "['ecommerce', 'music', 'social']" in str(unknown.exception)
