"""Case folders: case.yaml read and checked, the shipped cases load, errors name the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.runner.cases import find_cases, load_case

ROOT = Path(__file__).resolve().parents[2]

CASE_YAML = """\
title: "Toy: two groups"
question: Does it work?
data: ten users
licence: CC0
source: written by the test
suite: ml100k-topn
serve: ease
"""


def _case(root: Path, name: str = "toy", text: str = CASE_YAML, configs: tuple[str, ...] = ("ease",)) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "case.yaml").write_text(text, encoding="utf-8")
    for stem in configs:
        (folder / f"{stem}.yaml").write_text("model: {name: ease}\n", encoding="utf-8")
    return folder


def test_the_shipped_cases_load_with_their_served_config() -> None:
    cases = find_cases(ROOT / "cases")
    assert [c.name for c in cases] == ["ecommerce", "music", "social"]
    for case in cases:
        assert case.serve in case.configs and "case" not in case.configs
        assert case.config_path().is_file()
    assert load_case(ROOT / "cases", "social").suite == "ciao-social"


def test_a_case_lists_its_configs_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    _case(tmp_path, configs=("ease", "pop"))
    case = load_case(tmp_path, "toy")
    assert case.configs == ["ease", "pop"]
    assert case.config_path("pop") == tmp_path / "toy" / "pop.yaml"
    with pytest.raises(ConfigError, match=r"case 'toy' has no config 'bpr'; its configs are \['ease', 'pop'\]"):
        case.config_path("bpr")
    with pytest.raises(ConfigError, match="has no config 'case'"):
        case.config_path("case")


def test_unknown_case_names_the_file_and_lists_the_cases(tmp_path: Path) -> None:
    _case(tmp_path)
    with pytest.raises(ConfigError, match=r"no case 'music'.*music/case.yaml not found; cases: \['toy'\]"):
        load_case(tmp_path, "music")


def test_bad_case_files_fail_naming_file_and_field(tmp_path: Path) -> None:
    _case(tmp_path, "typo", CASE_YAML.replace("suite:", "suit:"))
    with pytest.raises(ConfigError, match=r"typo/case.yaml.*suit.*did you mean 'suite'"):
        load_case(tmp_path, "typo")
    _case(tmp_path, "served", CASE_YAML, configs=("pop",))
    with pytest.raises(ConfigError, match="case 'served' has no config 'ease'"):
        load_case(tmp_path, "served")
    _case(tmp_path, "empty", CASE_YAML.replace('"Toy: two groups"', '""'))
    with pytest.raises(ConfigError, match="title"):
        load_case(tmp_path, "empty")
    _case(tmp_path, "list", "- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping of case fields, got list"):
        load_case(tmp_path, "list")
    with pytest.raises(ConfigError, match="no cases folder"):
        find_cases(tmp_path / "absent")
