"""Application cases: a folder of experiment configs with a ``case.yaml`` that says what it is.

A case (``cases/ecommerce``, ``cases/social``, ``cases/music`` in the repository) is
a question asked of one dataset, the configs that answer it, the benchmark suite
that measures them and the config whose trained model is served as its demo.
``case.yaml`` holds the words and pointers; the configs are ordinary experiment
files (``ssl4rec train --config cases/music/xsimgcl.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ssl4rec.config.base import Checks, from_dict
from ssl4rec.errors import ConfigError

__all__ = ["CASE_FILE", "Case", "find_cases", "load_case"]

CASE_FILE = "case.yaml"


@dataclass(frozen=True, kw_only=True)
class Case:
    """One application case, as its ``case.yaml`` describes it."""

    title: str
    """Short name shown on the web page's case switch ("Music: Last.fm")."""
    question: str
    """What the case measures, in one or two sentences."""
    data: str
    """The dataset in words: source paper, size, what the item text is."""
    licence: str
    """Terms of use of the data."""
    source: str
    """Where the official files come from."""
    suite: str
    """The benchmark suite of the case (``ssl4rec bench SUITE``)."""
    serve: str
    """Config (file stem in the case folder) whose trained model is the served demo."""
    name: str = ""
    """The folder name; filled in by ``load_case``."""
    folder: str = ""
    """The case folder; filled in by ``load_case``."""

    def __post_init__(self) -> None:
        checks = Checks(f"{self.name or 'case'}/{CASE_FILE}")
        for field in ("title", "question", "suite", "serve"):
            if not str(getattr(self, field)).strip():
                checks.fail(field, "must not be empty", getattr(self, field))
        checks.raise_if_any()

    @property
    def configs(self) -> list[str]:
        """The experiment configs of the case (file stems), sorted."""
        return sorted(p.stem for p in Path(self.folder).glob("*.yaml") if p.name != CASE_FILE)

    def config_path(self, stem: str | None = None) -> Path:
        """The config file ``stem`` (default: the served one), checked to exist.

        Raises:
            ConfigError: no such config in the case folder (the message lists them).
        """
        stem = stem or self.serve
        path = Path(self.folder) / f"{stem}.yaml"
        if stem == Path(CASE_FILE).stem or not path.is_file():
            raise ConfigError(
                f"case {self.name!r} has no config {stem!r}; its configs are {self.configs}"
            )
        return path


def load_case(root: Path, name: str) -> Case:
    """Read ``root/name/case.yaml``.

    Raises:
        ConfigError: unknown case (the message lists the known ones), a file that is not
            a YAML mapping, or a missing/unknown field (named with the file).
    """
    path = root / name / CASE_FILE
    if not path.is_file():
        known = [c.name for c in find_cases(root)] if root.is_dir() else []
        raise ConfigError(f"no case {name!r} in {root}: {path} not found; cases: {known}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of case fields, got {type(raw).__name__}")
    case = from_dict(Case, {**raw, "name": name, "folder": str(root / name)}, where=str(path))
    case.config_path()  # the served config must exist
    return case


def find_cases(root: Path) -> list[Case]:
    """Every case under ``root`` (folders with a ``case.yaml``), by name."""
    if not root.is_dir():
        raise ConfigError(f"{root}: no cases folder (run from the repository root or pass --cases)")
    return [load_case(root, p.parent.name) for p in sorted(root.glob(f"*/{CASE_FILE}"))]
