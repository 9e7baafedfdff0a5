"""Tests for ssl4rec.text.cache."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

import pytest

from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import DataError
from ssl4rec.testing.fakes import HashTextEncoder
from ssl4rec.text import cache as cache_mod
from ssl4rec.text.cache import (
    default_cache_dir,
    encode_cached,
    encoder_cache_dir,
    item_embeddings,
)
from ssl4rec.text.templates import item_texts

TEXTS = ["red apple", "green apple", "blue sky", "red apple", "deep sea"]


def _shards(folder: Path) -> list[Path]:
    return sorted(folder.glob("shard-*.safetensors"))


def test_matches_direct_encoding(tmp_path: Path, counting_encoder) -> None:
    out = encode_cached(counting_encoder, TEXTS, cache_dir=tmp_path)
    assert out.shape == (5, 16) and out.dtype == np.float32
    np.testing.assert_array_equal(out, HashTextEncoder(16).encode(TEXTS))
    # duplicates are encoded once
    assert counting_encoder.seen == ["red apple", "green apple", "blue sky", "deep sea"]


def test_second_call_encodes_nothing(tmp_path: Path, counting_encoder) -> None:
    first = encode_cached(counting_encoder, TEXTS, cache_dir=tmp_path)
    calls = counting_encoder.calls
    second = encode_cached(counting_encoder, TEXTS[::-1], cache_dir=tmp_path)
    assert counting_encoder.calls == calls
    np.testing.assert_array_equal(second, first[::-1])


def test_changed_title_reencodes_only_that_item(
    tmp_path: Path, movies: Interactions, counting_encoder
) -> None:
    before = item_embeddings(movies, counting_encoder, template="movielens", cache_dir=tmp_path)
    assert len(counting_encoder.seen) == movies.num_items
    table = movies.item_table
    assert table is not None
    changed = table.with_columns(
        pl.when(pl.col("item_id") == "3")
        .then(pl.lit("Heat (Director's Cut)"))
        .otherwise(pl.col("title"))
        .alias("title")
    )
    edited = Interactions.from_frame(
        movies.to_frame(raw_ids=True).rename({"user": "user_id", "item": "item_id"}),
        time_col="timestamp",
        item_table=changed,
    )
    counting_encoder.seen.clear()
    after = item_embeddings(edited, counting_encoder, template="movielens", cache_dir=tmp_path)
    assert counting_encoder.seen == [
        "Heat (Director's Cut) (1995). Genres: Action, Crime, Thriller"
    ]
    row = edited.item_vocab.index("3")
    others = np.arange(movies.num_items) != row
    np.testing.assert_array_equal(after[others], before[others])
    assert not np.array_equal(after[row], before[row])


def test_item_embeddings_rows_follow_item_index(tmp_path: Path, movies: Interactions) -> None:
    enc = HashTextEncoder(16)
    emb = item_embeddings(movies, enc, template="movielens", cache_dir=tmp_path)
    assert emb.shape == (movies.num_items, 16)
    np.testing.assert_array_equal(emb, enc.encode(item_texts(movies, "movielens")))


def test_folder_per_encoder(tmp_path: Path) -> None:
    encode_cached(HashTextEncoder(8), ["a b"], cache_dir=tmp_path)
    encode_cached(HashTextEncoder(16), ["a b"], cache_dir=tmp_path)
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert len(folders) == 2 and folders[0].startswith("hash-16-")
    index = json.loads((encoder_cache_dir("hash-8", tmp_path) / "index.json").read_text())
    assert index["encoder"] == "hash-8" and index["dim"] == 8


def test_encoder_folder_name_is_safe(tmp_path: Path) -> None:
    folder = encoder_cache_dir("org/model@abc;max_seq_length=16", tmp_path)
    assert folder.parent == tmp_path
    assert "/" not in folder.name and ";" not in folder.name
    assert folder != encoder_cache_dir("org_model@abc;max_seq_length=16", tmp_path)


def test_default_cache_dir_uses_ssl4rec_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SSL4REC_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "embeddings"
    encode_cached(HashTextEncoder(8), ["x"])
    assert (encoder_cache_dir("hash-8", tmp_path / "embeddings") / "index.json").is_file()


def test_empty_input(tmp_path: Path, counting_encoder) -> None:
    out = encode_cached(counting_encoder, [], cache_dir=tmp_path)
    assert out.shape == (0, 16)
    assert counting_encoder.calls == 0


def test_corrupt_shard_is_rebuilt(tmp_path: Path, counting_encoder) -> None:
    expected = encode_cached(counting_encoder, TEXTS, cache_dir=tmp_path)
    folder = encoder_cache_dir(counting_encoder.name, tmp_path)
    (shard,) = _shards(folder)
    shard.write_bytes(shard.read_bytes()[:40])  # truncated
    counting_encoder.seen.clear()
    with pytest.warns(RuntimeWarning, match="corrupt"):
        out = encode_cached(counting_encoder, TEXTS, cache_dir=tmp_path)
    np.testing.assert_array_equal(out, expected)
    assert len(counting_encoder.seen) == 4
    assert shard not in _shards(folder)  # the bad file is gone
    counting_encoder.seen.clear()
    encode_cached(counting_encoder, TEXTS, cache_dir=tmp_path)  # healthy again, no warning
    assert counting_encoder.seen == []


def test_flipped_bits_detected_by_checksum(tmp_path: Path, counting_encoder) -> None:
    encode_cached(counting_encoder, TEXTS, cache_dir=tmp_path)
    (shard,) = _shards(encoder_cache_dir(counting_encoder.name, tmp_path))
    blob = bytearray(shard.read_bytes())
    blob[-1] ^= 0xFF  # still a valid safetensors file, wrong numbers
    shard.write_bytes(bytes(blob))
    with pytest.warns(RuntimeWarning, match="checksum"):
        out = encode_cached(counting_encoder, TEXTS, cache_dir=tmp_path)
    np.testing.assert_array_equal(out, HashTextEncoder(16).encode(TEXTS))


@pytest.mark.parametrize("content", [b"{not json", b'{"format": 99}', b"[]"])
def test_corrupt_index_is_rebuilt(tmp_path: Path, counting_encoder, content: bytes) -> None:
    encode_cached(counting_encoder, TEXTS, cache_dir=tmp_path)
    folder = encoder_cache_dir(counting_encoder.name, tmp_path)
    (folder / "index.json").write_bytes(content)
    with pytest.warns(RuntimeWarning, match="index.*rebuilding"):
        out = encode_cached(counting_encoder, TEXTS, cache_dir=tmp_path)
    np.testing.assert_array_equal(out, HashTextEncoder(16).encode(TEXTS))
    assert len(_shards(folder)) == 1  # the orphaned shard was removed


def test_missing_shard_file_is_rebuilt(tmp_path: Path, counting_encoder) -> None:
    encode_cached(counting_encoder, TEXTS, cache_dir=tmp_path)
    (shard,) = _shards(encoder_cache_dir(counting_encoder.name, tmp_path))
    shard.unlink()
    with pytest.warns(RuntimeWarning, match="corrupt"):
        encode_cached(counting_encoder, TEXTS, cache_dir=tmp_path)


def test_no_temporary_files_left(tmp_path: Path, counting_encoder) -> None:
    encode_cached(counting_encoder, TEXTS, cache_dir=tmp_path)
    folder = encoder_cache_dir(counting_encoder.name, tmp_path)
    assert sorted(p.suffix for p in folder.iterdir()) == [".json", ".safetensors"]


def test_many_runs_compact_into_one_shard(tmp_path: Path, counting_encoder, monkeypatch) -> None:
    monkeypatch.setattr(cache_mod, "_MAX_SHARDS", 3)
    words = [f"word{i}" for i in range(6)]
    for word in words:
        encode_cached(counting_encoder, [word], cache_dir=tmp_path)
    folder = encoder_cache_dir(counting_encoder.name, tmp_path)
    assert len(_shards(folder)) <= 3
    counting_encoder.seen.clear()
    out = encode_cached(counting_encoder, words, cache_dir=tmp_path)
    assert counting_encoder.seen == []
    np.testing.assert_array_equal(out, HashTextEncoder(16).encode(words))


def test_wrong_encoder_output_shape_is_data_error(tmp_path: Path) -> None:
    class Broken(HashTextEncoder):
        def encode(self, texts, *, batch_size=64, progress=None):
            return super().encode(texts)[:-1]

    with pytest.raises(DataError, match=r"returned shape \(1, 8\) for 2 texts"):
        encode_cached(Broken(8), ["a", "b"], cache_dir=tmp_path)
