"""The wheel carries what an installed ssl4rec needs outside the checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_configs_suites_and_the_web_page(tmp_path: Path) -> None:
    source = tmp_path / "source"  # build from a copy: the checkout gets no build/ folder
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("ssl4rec-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped_configs = {p.name for p in (ROOT / "src" / "ssl4rec" / "configs").glob("*.yaml")}
    assert {n.rsplit("/", 1)[1] for n in names if n.startswith("ssl4rec/configs/")} == (
        shipped_configs
    )
    assert "ssl4rec/bench/suites/ml100k-topn.yaml" in names
    assert "ssl4rec/serving/static/index.html" in names
    assert "ssl4rec/py.typed" in names
