"""Saved model folders record the sha256 of their files; load refuses altered ones."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

import pytest

from ssl4rec.errors import DataError
from ssl4rec.models.base import load_model
from ssl4rec.models.ease import EASE
from ssl4rec.testing.synthetic import block_split


@pytest.fixture(scope="module")
def model() -> EASE:
    return EASE(l2_reg=10.0).fit(block_split().train)


def test_meta_lists_a_digest_for_every_file(model: EASE, tmp_path: Path) -> None:
    folder = model.save(tmp_path / "m")
    files = json.loads((folder / "meta.json").read_text())["files"]
    on_disk = {p.name for p in folder.iterdir()} - {"meta.json"}
    assert set(files) == on_disk and all(len(d) == 64 for d in files.values())
    assert torch.equal(load_model(folder).score([0, 1]), model.score([0, 1]))


@pytest.mark.parametrize("name", ["weights.safetensors", "vocab.json", "history.safetensors"])
def test_a_changed_file_is_refused_by_name(model: EASE, tmp_path: Path, name: str) -> None:
    folder = model.save(tmp_path / "m")
    path = folder / name
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4] = b"\xff\xff\xff\xff"  # same size, other bytes
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=rf"{name.replace('.', '[.]')}: sha256 differs"):
        load_model(folder)


def test_a_missing_listed_file_is_named(model: EASE, tmp_path: Path) -> None:
    folder = model.save(tmp_path / "m")
    (folder / "history.safetensors").unlink()
    with pytest.raises(DataError, match=r"history\.safetensors: missing"):
        load_model(folder)


def test_non_finite_weights_are_refused(model: EASE, tmp_path: Path) -> None:
    folder = model.save(tmp_path / "m")
    from safetensors.torch import load_file, save_file

    weights = load_file(str(folder / "weights.safetensors"))
    key = next(iter(weights))
    weights[key][0, 0] = float("inf")
    save_file(weights, str(folder / "weights.safetensors"))
    meta = json.loads((folder / "meta.json").read_text())
    del meta["files"]  # a folder saved without digests still gets the finiteness check
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match=rf"weights\.safetensors: tensor '{key}'.*infinite"):
        load_model(folder)


def test_garbage_item_table_is_a_named_error(tmp_path: Path) -> None:
    split = block_split()
    import polars as pl

    from ssl4rec.data.interactions import Interactions

    data = split.train
    table = pl.DataFrame({"item_id": data.item_vocab.to_list(), "title": ["t"] * data.num_items})
    train = Interactions.from_frame(
        pl.DataFrame(
            {
                "user_id": data.user_vocab.raw(data.users),
                "item_id": data.item_vocab.raw(data.items),
                "ts": data.timestamps,
            }
        ),
        time_col="ts",
        item_table=table,
    )
    folder = EASE(l2_reg=10.0).fit(train).save(tmp_path / "m")
    (folder / "items.parquet").write_bytes(b"\x00\x13garbage" * 50)
    meta = json.loads((folder / "meta.json").read_text())
    del meta["files"]
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"items\.parquet: cannot read the item table"):
        load_model(folder)


def test_a_folder_without_digests_loads_with_a_warning(
    model: EASE, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = model.save(tmp_path / "m")
    meta = json.loads((folder / "meta.json").read_text())
    del meta["files"]
    (folder / "meta.json").write_text(json.dumps(meta))
    with caplog.at_level(logging.WARNING, logger="ssl4rec"):
        loaded = load_model(folder)
    assert "no file digests" in caplog.text
    assert torch.equal(loaded.score([0]), model.score([0]))
