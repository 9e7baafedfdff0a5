"""Keys, AES-GCM personal files in model folders, and forgetting a user."""

from __future__ import annotations

import json

import pytest

from ssl4rec.errors import ConfigError, DataError, UnknownIdError
from ssl4rec.models.base import load_model
from ssl4rec.models.ease import EASE
from ssl4rec.models.persistence import encrypt_personal_files, forget_user
from ssl4rec.privacy.crypto import (
    KEY_ENV,
    decrypt_bytes,
    encrypt_bytes,
    read_key,
    using_key,
)
from ssl4rec.testing.synthetic import block_interactions

KEY = bytes(range(32))


def test_key_files_missing_empty_or_malformed_are_named(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(ConfigError, match="nope.key: key file not found"):
        read_key(tmp_path / "nope.key")
    empty = tmp_path / "empty.key"
    empty.write_text("")
    with pytest.raises(ConfigError, match="empty.key: the key is empty"):
        read_key(empty)
    short = tmp_path / "short.key"
    short.write_text("abc\n")
    with pytest.raises(ConfigError, match="short.key: expected a key of 64 hex"):
        read_key(short)
    good = tmp_path / "good.key"
    good.write_text(KEY.hex() + "\n")
    assert read_key(good) == KEY
    assert read_key() is None
    monkeypatch.setenv(KEY_ENV, KEY.hex())
    assert read_key() == KEY


def test_aes_gcm_round_trip_and_wrong_key() -> None:
    sealed = encrypt_bytes(KEY, b"user 7 watched i3", name="vocab.json")
    assert b"watched" not in sealed
    assert decrypt_bytes(KEY, sealed, name="vocab.json", path="x") == b"user 7 watched i3"
    with pytest.raises(DataError, match="wrong key"):
        decrypt_bytes(bytes(32), sealed, name="vocab.json", path="x")
    with pytest.raises(DataError, match="wrong key"):  # a swapped file fails too
        decrypt_bytes(KEY, sealed, name="history.safetensors", path="x")
    with pytest.raises(DataError, match="encrypted; pass its key"):
        decrypt_bytes(None, sealed, name="vocab.json", path="x")


def test_encrypted_model_folder_loads_only_with_the_key(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    model = EASE(l2_reg=1.0).fit(block_interactions(num_users=20))
    folder = model.save(tmp_path / "model")
    assert encrypt_personal_files(folder, KEY) == ["history.safetensors", "vocab.json"]
    assert b"u0" not in (folder / "vocab.json").read_bytes()
    with pytest.raises(DataError, match="vocab.json: encrypted; pass its key"):
        load_model(folder)
    with using_key(KEY):
        loaded = load_model(folder)
    assert list(loaded.recommend("u1", 3).items[0]) == list(model.recommend("u1", 3).items[0])
    monkeypatch.setenv(KEY_ENV, KEY.hex())
    assert load_model(folder).num_users == 20


def test_forget_removes_the_users_history_and_keeps_the_folder_valid(tmp_path) -> None:
    model = EASE(l2_reg=1.0).fit(block_interactions(num_users=20))
    folder = model.save(tmp_path / "model")
    before = len(model.history.sequence(model.user_vocab.index("u3")))
    assert forget_user(folder, "u3") == before > 0
    loaded = load_model(folder)
    assert len(loaded.history.sequence(loaded.user_vocab.index("u3"))) == 0
    other = model.user_vocab.index("u4")
    assert list(loaded.history.sequence(other)) == list(model.history.sequence(other))
    assert forget_user(folder, "u3") == 0
    with pytest.raises(UnknownIdError):
        forget_user(folder, "nobody")
    encrypt_personal_files(folder, KEY)
    with using_key(KEY):
        assert forget_user(folder, "u5") > 0
        assert load_model(folder).history.sequence(model.user_vocab.index("u5")).size == 0
    assert json.loads((folder / "meta.json").read_text())["files"]
