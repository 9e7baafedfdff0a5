"""Keys and AES-GCM encryption of personal data at rest.

One key serves both the SQLCipher event store and the personal files of a run
folder (histories, user vocabulary): 32 random bytes written as 64 hex characters
(``openssl rand -hex 32 > events.key``), read from ``--db-key-file`` or the
``SSL4REC_DB_KEY`` environment variable. Files are encrypted with AES-256-GCM
(from ``cryptography``) under a subkey derived with HKDF-SHA256, so the database
and the files never share a raw key; each file gets a fresh 96-bit nonce and its
name as associated data (a file renamed or swapped fails to decrypt).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from ssl4rec.errors import ConfigError, DataError

__all__ = [
    "KEY_ENV",
    "MAGIC",
    "decrypt_bytes",
    "encrypt_bytes",
    "is_encrypted",
    "current_key",
    "parse_key",
    "read_key",
    "using_key",
]

KEY_ENV = "SSL4REC_DB_KEY"
"""Environment variable holding the key (64 hex characters)."""
MAGIC = b"SSL4REC-AESGCM1\n"
"""First bytes of an encrypted file."""
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


def parse_key(text: str, *, source: str) -> bytes:
    """The 32-byte key in ``text`` (64 hex characters); ``source`` names it in errors."""
    text = text.strip()
    if not text:
        raise ConfigError(f"{source}: the key is empty; expected 64 hex characters (openssl rand -hex 32)")
    if not _HEX.match(text):
        raise ConfigError(
            f"{source}: expected a key of 64 hex characters (openssl rand -hex 32); "
            f"got {len(text)} characters"
        )
    return bytes.fromhex(text)


def read_key(path: str | Path | None = None, *, env: str = KEY_ENV) -> bytes | None:
    """The key from ``path`` (its first line) or else ``$env``; ``None`` when neither is set.

    Raises:
        ConfigError: a missing, empty or malformed key file (named).
    """
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: key file not found")
        lines = path.read_text(encoding="utf-8").splitlines()
        return parse_key(lines[0] if lines else "", source=str(path))
    value = os.environ.get(env)
    if value is None:
        return None
    return parse_key(value, source=f"${env}")


_KEY: ContextVar[bytes | None] = ContextVar("ssl4rec_key", default=None)


@contextmanager
def using_key(key: bytes | None) -> Iterator[None]:
    """Within the block, encrypted files are read (and written) with ``key``."""
    token = _KEY.set(key)
    try:
        yield
    finally:
        _KEY.reset(token)


def current_key() -> bytes | None:
    """The key of the enclosing ``using_key`` block, else ``$SSL4REC_DB_KEY``, else ``None``."""
    key = _KEY.get()
    return key if key is not None else read_key()


def _file_key(key: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"ssl4rec run-folder files"
    ).derive(key)


def encrypt_bytes(key: bytes, data: bytes, *, name: str) -> bytes:
    """``MAGIC + nonce + AES-GCM(data)`` with ``name`` as associated data."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    return MAGIC + nonce + AESGCM(_file_key(key)).encrypt(nonce, data, name.encode())


def is_encrypted(data: bytes) -> bool:
    """Whether ``data`` starts like an encrypted file."""
    return data.startswith(MAGIC)


def decrypt_bytes(key: bytes | None, data: bytes, *, name: str, path: str | Path) -> bytes:
    """Inverse of ``encrypt_bytes``.

    Raises:
        DataError: no key given, or a wrong key / altered file (``path`` named).
    """
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if key is None:
        raise DataError(
            f"{path}: encrypted; pass its key (--db-key-file KEY or ${KEY_ENV})"
        )
    body = data[len(MAGIC) :]
    try:
        return AESGCM(_file_key(key)).decrypt(body[:12], body[12:], name.encode())
    except InvalidTag:
        raise DataError(f"{path}: cannot decrypt: wrong key, or the file was altered") from None
