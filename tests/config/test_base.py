from dataclasses import dataclass, field
from typing import ClassVar, Literal

import pytest

from ssl4rec.config.base import Checks, from_dict, to_dict
from ssl4rec.config.yaml_io import apply_overrides, dump_yaml, load_yaml
from ssl4rec.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class Inner:
    size: int = 3


@dataclass(frozen=True, kw_only=True)
class Outer:
    learning_rate: float = 0.001
    mode: Literal["a", "b"] = "a"
    dims: tuple[int, ...] = (4, 2)
    inner: Inner = field(default_factory=Inner)
    name: str | None = None

    def __post_init__(self) -> None:
        c = Checks("Outer")
        c.positive("learning_rate", self.learning_rate)
        c.all_positive("dims", self.dims)
        c.raise_if_any()


def test_round_trip_through_yaml(tmp_path):
    cfg = Outer(learning_rate=0.5, mode="b", dims=(8,), inner=Inner(size=7), name="x")
    path = tmp_path / "c.yaml"
    dump_yaml(to_dict(cfg), path)
    assert from_dict(Outer, load_yaml(path)) == cfg


def test_unknown_key_suggests_the_field():
    with pytest.raises(ConfigError, match=r"Outer: unknown field 'learning_rte' \(did you mean 'learning_rate'\?\)"):
        from_dict(Outer, {"learning_rte": 0.1})


@dataclass(frozen=True, kw_only=True)
class Renamed:
    renamed_fields: ClassVar[dict[str, str]] = {"hidden_dim": "embedding_dim"}

    embedding_dim: int = 8


@dataclass(frozen=True, kw_only=True)
class HoldsRenamed:
    model: Renamed = field(default_factory=Renamed)


def test_renamed_field_names_its_new_name():
    with pytest.raises(ConfigError, match=r"^Renamed: field 'hidden_dim' was renamed to 'embedding_dim'$"):
        from_dict(Renamed, {"hidden_dim": 16})
    with pytest.raises(ConfigError, match=r"HoldsRenamed.model: field 'hidden_dim' was renamed to 'embedding_dim'"):
        from_dict(HoldsRenamed, {"model": {"hidden_dim": 16}})
    assert from_dict(Renamed, {"embedding_dim": 16}) == Renamed(embedding_dim=16)
    assert "renamed_fields" not in to_dict(Renamed())


def test_all_problems_reported_at_once():
    with pytest.raises(ConfigError) as info:
        from_dict(Outer, {"mode": "c", "dims": "4", "inner": {"size": "big"}})
    text = str(info.value)
    assert "3 problems" in text
    assert "Outer.mode must be one of ['a', 'b']; got 'c'" in text
    assert "Outer.dims must be a list of int" in text
    assert "Outer.inner.size must be an integer; got 'big'" in text


def test_validation_message_names_field_and_value():
    with pytest.raises(ConfigError, match=r"Outer.learning_rate must be > 0; got -1.0"):
        from_dict(Outer, {"learning_rate": -1})


def test_yaml_scientific_string_is_read_as_float():
    assert from_dict(Outer, {"learning_rate": "1e-3"}).learning_rate == pytest.approx(0.001)


def test_bad_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  name: ease\n  l2_reg: [1,\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+: invalid YAML"):
        load_yaml(path)
    with pytest.raises(ConfigError, match="config file not found"):
        load_yaml(tmp_path / "missing.yaml")


def test_overrides_parse_yaml_values():
    out = apply_overrides({"model": {"name": "ease"}}, ["model.l2_reg=1000.0", "eval.metrics=[ndcg@10]"])
    assert out == {"model": {"name": "ease", "l2_reg": 1000.0}, "eval": {"metrics": ["ndcg@10"]}}
    with pytest.raises(ConfigError, match="must look like section.field=value"):
        apply_overrides({}, ["model.l2_reg"])
