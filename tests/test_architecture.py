"""The layers contract (pyproject.toml, import-linter) holds, and catches a new upward import."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(project: Path, src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(project / "pyproject.toml")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_layers_contract_is_kept() -> None:
    result = _lint(ROOT, ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "src" / "ssl4rec", tmp_path / "src" / "ssl4rec")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    metrics = tmp_path / "src" / "ssl4rec" / "evaluation" / "metrics.py"
    # evaluation sits below models: this one line must fail the check
    metrics.write_text(
        metrics.read_text(encoding="utf-8") + "\nfrom ssl4rec.models.base import Recommender\n",
        encoding="utf-8",
    )
    result = _lint(tmp_path, tmp_path / "src")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout
    assert "ssl4rec.evaluation.metrics -> ssl4rec.models.base" in result.stdout


def test_models_never_import_the_text_layer() -> None:
    # the layers allow it (text sits below models), but models receive item vectors
    # (an array or an ItemTextSource); encoders and the cache belong to the caller
    found = []
    for path in sorted((ROOT / "src" / "ssl4rec" / "models").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found += [
                f"{path.name}: {name}"
                for name in names
                if name == "ssl4rec.text" or name.startswith("ssl4rec.text.")
            ]
    assert found == []
