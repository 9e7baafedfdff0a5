"""docs/adding-a-model.md runs: its model passes the contract, its registry line and YAML work.

The Python blocks of the guide carry the file they belong to (```python title="...").
The model block is executed as the module ``ssl4rec.models.item_average`` and the
test block's class is collected here, with the guide's registry entry in place
while its tests run (and removed afterwards, so other tests see the real registry).
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ssl4rec.models import registry
from ssl4rec.models.capabilities import ItemVectors
from ssl4rec.runner.experiment import load_experiment

DOC = Path(__file__).resolve().parents[2] / "docs" / "adding-a-model.md"
MODEL_FILE = "src/ssl4rec/models/item_average.py"
TEST_FILE = "tests/models/test_item_average.py"
YAML_FILE = "configs/item_average-ml100k.yaml"

_FENCE = re.compile(r'^```(\w+)(?: title="([^"]+)")?\n(.*?)^```$', re.MULTILINE | re.DOTALL)
_REGISTRY_LINE = re.compile(r'^\+\s*"(\w+)": "([\w.]+):(\w+)",$', re.MULTILINE)


def code_blocks(text: str) -> list[tuple[str, str | None, str]]:
    """``(language, title or None, code)`` of every fenced block of ``text``, in order."""
    return [(m[1], m[2], m[3]) for m in _FENCE.finditer(text)]


def _block(title: str) -> str:
    found = [
        code for _, name, code in code_blocks(DOC.read_text(encoding="utf-8")) if name == title
    ]
    assert len(found) == 1, f"{DOC.name}: expected one block titled {title!r}, got {len(found)}"
    return found[0]


def _registry_entry() -> tuple[str, str, str]:
    diffs = [
        code for lang, _, code in code_blocks(DOC.read_text(encoding="utf-8")) if lang == "diff"
    ]
    entries = [m.groups() for code in diffs for m in _REGISTRY_LINE.finditer(code)]
    assert len(entries) == 1, f"{DOC.name}: expected one added registry line, got {entries}"
    name, module, cls = entries[0]
    return name, module, cls


NAME, MODULE, CLASS = _registry_entry()


def _run(title: str, namespace: dict[str, Any]) -> dict[str, Any]:
    exec(compile(_block(title), f"{DOC}:{title}", "exec"), namespace)
    return namespace


def _example_module() -> types.ModuleType:
    module = types.ModuleType(MODULE)
    module.__file__ = str(DOC)
    with _registered(module):
        _run(MODEL_FILE, module.__dict__)
    return module


@contextmanager
def _registered(module: types.ModuleType) -> Iterator[None]:
    """The example importable under ``MODULE`` and listed in the registry, inside the block."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, MODULE, module)
        patch.setitem(registry.MODELS, NAME, f"{MODULE}:{CLASS}")
        yield


EXAMPLE = _example_module()
with _registered(EXAMPLE):
    _DocTest: type[Any] = _run(TEST_FILE, {"__name__": "tests.models.test_item_average"})[
        "TestItemAverage"
    ]


class TestItemAverageFromDoc(_DocTest):
    """The guide's test class, run with the guide's model registered."""

    @pytest.fixture(scope="class", autouse=True)
    def registered(self) -> Iterator[None]:
        with _registered(EXAMPLE):
            yield


def test_blocks_are_titled_with_their_files() -> None:
    blocks = code_blocks(DOC.read_text(encoding="utf-8"))
    titles = [name for _, name, _ in blocks]
    assert titles.count(MODEL_FILE) == titles.count(TEST_FILE) == titles.count(YAML_FILE) == 1
    assert all(name is not None for lang, name, _ in blocks if lang == "python")


def test_registry_entry_names_the_example() -> None:
    model_class = getattr(EXAMPLE, CLASS)
    assert MODULE == "ssl4rec.models." + Path(MODEL_FILE).stem
    assert model_class.name == NAME
    with _registered(EXAMPLE):
        assert registry.get_model_class(NAME) is model_class
    assert NAME not in registry.MODELS  # removed again


def test_example_declares_item_vectors() -> None:
    model = getattr(EXAMPLE, CLASS)()
    assert isinstance(model, ItemVectors)


def test_yaml_validates(tmp_path: Path) -> None:
    path = tmp_path / Path(YAML_FILE).name
    path.write_text(_block(YAML_FILE), encoding="utf-8")
    with _registered(EXAMPLE):
        config = load_experiment(path)
    assert config.model_name == NAME
    assert isinstance(config.model, EXAMPLE.ItemAverageConfig)


def test_code_blocks_parses_titles_and_languages() -> None:
    text = 'x\n```python title="a.py"\nprint(1)\n```\n\n```bash\nls\n```\n'
    assert code_blocks(text) == [("python", "a.py", "print(1)\n"), ("bash", None, "ls\n")]
