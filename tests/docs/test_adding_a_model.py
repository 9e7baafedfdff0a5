"""docs/adding-a-model.md runs: its model passes the contract, its registry line and YAML work.

The Python blocks of the guide carry the file they belong to (```python title="...").
The config block is executed as the module ``ssl4rec.models.configs.item_average``,
the model block as ``ssl4rec.models.item_average``, and the test block's class is
collected here, with the guide's registry entry in place while its tests run (and
removed afterwards, so other tests see the real registry).
"""

from __future__ import annotations

import ast
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
CONFIG_FILE = "src/ssl4rec/models/configs/item_average.py"
MODEL_FILE = "src/ssl4rec/models/item_average.py"
TEST_FILE = "tests/models/test_item_average.py"
YAML_FILE = "src/ssl4rec/configs/item_average-ml100k.yaml"

_FENCE = re.compile(r'^```(\w+)(?: title="([^"]+)")?\n(.*?)^```$', re.MULTILINE | re.DOTALL)
_REGISTRY_ENTRY = re.compile(
    r'^\+\s*"(\w+)": RegistryEntry\(\n'
    r'\+\s*model="([\w.]+):(\w+)",\n'
    r'\+\s*config="([\w.]+):(\w+)",\n'
    r"\+\s*\),$",
    re.MULTILINE,
)


def code_blocks(text: str) -> list[tuple[str, str | None, str]]:
    """``(language, title or None, code)`` of every fenced block of ``text``, in order."""
    return [(m[1], m[2], m[3]) for m in _FENCE.finditer(text)]


def _block(title: str) -> str:
    found = [
        code for _, name, code in code_blocks(DOC.read_text(encoding="utf-8")) if name == title
    ]
    assert len(found) == 1, f"{DOC.name}: expected one block titled {title!r}, got {len(found)}"
    return found[0]


def _registry_entry() -> tuple[str, str, str, str, str]:
    diffs = [
        code for lang, _, code in code_blocks(DOC.read_text(encoding="utf-8")) if lang == "diff"
    ]
    entries = [m.groups() for code in diffs for m in _REGISTRY_ENTRY.finditer(code)]
    assert len(entries) == 1, f"{DOC.name}: expected one added registry entry, got {entries}"
    name, module, cls, config_module, config_cls = entries[0]
    return name, module, cls, config_module, config_cls


NAME, MODULE, CLASS, CONFIG_MODULE, CONFIG_CLASS = _registry_entry()


def _run(title: str, namespace: dict[str, Any]) -> dict[str, Any]:
    exec(compile(_block(title), f"{DOC}:{title}", "exec"), namespace)
    return namespace


def _example_modules() -> tuple[types.ModuleType, types.ModuleType]:
    """The guide's config module and model module, executed in that order."""
    config_module = types.ModuleType(CONFIG_MODULE)
    module = types.ModuleType(MODULE)
    config_module.__file__ = module.__file__ = str(DOC)
    with _registered(config_module, module):
        _run(CONFIG_FILE, config_module.__dict__)
        _run(MODEL_FILE, module.__dict__)
    return config_module, module


@contextmanager
def _registered(config_module: types.ModuleType, module: types.ModuleType) -> Iterator[None]:
    """The example importable under its module names and listed in the registry, inside the block."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, CONFIG_MODULE, config_module)
        patch.setitem(sys.modules, MODULE, module)
        entry = registry.RegistryEntry(
            model=f"{MODULE}:{CLASS}", config=f"{CONFIG_MODULE}:{CONFIG_CLASS}"
        )
        patch.setitem(registry.MODELS, NAME, entry)
        yield


EXAMPLE_CONFIG, EXAMPLE = _example_modules()
with _registered(EXAMPLE_CONFIG, EXAMPLE):
    _DocTest: type[Any] = _run(TEST_FILE, {"__name__": "tests.models.test_item_average"})[
        "TestItemAverage"
    ]


class TestItemAverageFromDoc(_DocTest):
    """The guide's test class, run with the guide's model registered."""

    @pytest.fixture(scope="class", autouse=True)
    def registered(self) -> Iterator[None]:
        with _registered(EXAMPLE_CONFIG, EXAMPLE):
            yield


def test_blocks_are_titled_with_their_files() -> None:
    blocks = code_blocks(DOC.read_text(encoding="utf-8"))
    titles = [name for _, name, _ in blocks]
    files = (CONFIG_FILE, MODEL_FILE, TEST_FILE, YAML_FILE)
    assert [titles.count(name) for name in files] == [1, 1, 1, 1]
    assert all(name is not None for lang, name, _ in blocks if lang == "python")


def test_registry_entry_names_the_example() -> None:
    model_class = getattr(EXAMPLE, CLASS)
    assert MODULE == "ssl4rec.models." + Path(MODEL_FILE).stem
    assert CONFIG_MODULE == "ssl4rec.models.configs." + Path(CONFIG_FILE).stem
    assert model_class.name == NAME
    with _registered(EXAMPLE_CONFIG, EXAMPLE):
        assert registry.get_model_class(NAME) is model_class
        assert registry.get_config_class(NAME) is model_class.config_class
    assert NAME not in registry.MODELS  # removed again


def test_config_module_imports_only_torch_free_modules() -> None:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(_block(CONFIG_FILE))):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    torch_free = {"__future__", "dataclasses", "typing", "typing_extensions"}
    torch_free |= {"ssl4rec.config.base", "ssl4rec.models.config"}
    assert imported <= torch_free


def test_example_declares_item_vectors() -> None:
    model = getattr(EXAMPLE, CLASS)()
    assert isinstance(model, ItemVectors)


def test_yaml_validates(tmp_path: Path) -> None:
    path = tmp_path / Path(YAML_FILE).name
    path.write_text(_block(YAML_FILE), encoding="utf-8")
    with _registered(EXAMPLE_CONFIG, EXAMPLE):
        config = load_experiment(path)
    assert config.model_name == NAME
    assert isinstance(config.model, EXAMPLE.ItemAverageConfig)


def test_code_blocks_parses_titles_and_languages() -> None:
    text = 'x\n```python title="a.py"\nprint(1)\n```\n\n```bash\nls\n```\n'
    assert code_blocks(text) == [("python", "a.py", "print(1)\n"), ("bash", None, "ls\n")]
