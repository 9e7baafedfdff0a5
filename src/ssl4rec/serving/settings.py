"""Settings of the recommendation service (plain data, YAML-able)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ssl4rec.config.base import Checks
from ssl4rec.errors import ConfigError

__all__ = ["API_KEY_ENV", "CaseLink", "ServeSettings", "check_open_writes", "read_api_key"]

API_KEY_ENV = "SSL4REC_API_KEY"
"""Environment variable that holds the API key of write endpoints."""


@dataclass(frozen=True, kw_only=True)
class CaseLink:
    """An application case served beside others (``ssl4rec case serve``)."""

    name: str
    """The case's name; its pages are under ``/cases/NAME/``."""
    title: str
    """Shown on the web page's case switch."""
    question: str = ""
    """What the case measures, shown under the switch."""


@dataclass(frozen=True, kw_only=True)
class ServeSettings:
    """How the service loads its model, stores events and answers requests."""

    model_dir: str | None = None
    """Saved model folder (``model.save``) or a run folder holding ``model/``; ``None``
    when the model is passed to ``create_app`` directly."""
    db: str = "events.sqlite"
    """Event store: a SQLite file path (WAL mode), ``":memory:"``, or a SQLAlchemy URL
    such as ``postgresql+psycopg://user@host/db``."""
    db_key: bytes | None = field(default=None, repr=False)
    """SQLCipher key of an encrypted SQLite event store (32 bytes, ``privacy.crypto``);
    also decrypts the model folder's encrypted personal files."""
    api_key: str | None = None
    """Key required in the ``X-API-Key`` header by write endpoints; ``None`` leaves
    them open."""
    max_body_bytes: int = 1 << 20
    """Largest request body accepted (bytes); larger ones get 413 before parsing."""
    max_k: int = 1000
    """Largest ``k`` a request may ask for."""
    max_history: int = 2000
    """Most items in a session history (longer requests get 422); also the number of
    most recent events read per user when scoring."""
    retrieval: Literal["auto", "exact", "faiss"] = "auto"
    """Top-k over item vectors: exact, faiss, or chosen by catalog size."""
    faiss_min_items: int = 100_000
    """Catalog size from which ``auto`` retrieval uses a faiss index."""
    explain_top: int = 3
    """History items listed per explained recommendation."""
    cors_origins: tuple[str, ...] = ()
    """Origins allowed by CORS; empty (the default) turns CORS off."""
    torch_threads: int | None = 1
    """Intra-op threads for torch models (``None`` leaves torch's default). Requests are
    scored one at a time, so one thread each avoids oversubscribing the cores; scale out
    with more replicas. On 2 cores, SASRec served 446 GET req/s at p99 32 ms with 1
    thread against 273 req/s at p99 53 ms with torch's default (docs/benchmarks.md)."""

    case: CaseLink | None = None
    """The application case this model answers, when served as one of several cases."""
    cases: tuple[CaseLink, ...] = ()
    """Every case served beside it (the web page's switch); empty for a single model."""

    def __post_init__(self) -> None:
        checks = Checks("ServeSettings")
        checks.positive("max_body_bytes", self.max_body_bytes)
        checks.positive("max_k", self.max_k)
        checks.positive("max_history", self.max_history)
        checks.one_of("retrieval", self.retrieval, ("auto", "exact", "faiss"))
        checks.positive("faiss_min_items", self.faiss_min_items)
        checks.non_negative("explain_top", self.explain_top)
        checks.positive("torch_threads", self.torch_threads)
        if self.api_key is not None and not self.api_key.strip():
            checks.fail("api_key", "a non-empty string or None", self.api_key)
        checks.raise_if_any()

    @property
    def db_url(self) -> str:
        """The event store as a SQLAlchemy URL."""
        if "://" in self.db:
            return self.db
        if self.db == ":memory:":
            return "sqlite://"
        return f"sqlite:///{os.path.abspath(self.db)}"


def read_api_key(
    key_file: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> str | None:
    """The API key from ``key_file`` (its first line) or else ``$SSL4REC_API_KEY``.

    Keys never come from a command-line value: process listings show those.

    Raises:
        ConfigError: the file is missing, unreadable or holds an empty first line.
    """
    if key_file is not None:
        path = Path(key_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"--api-key-file: cannot read {path}: {err}") from None
        key = lines[0].strip() if lines else ""
        if not key:
            raise ConfigError(f"--api-key-file: {path}: the first line must hold the key; got ''")
        return key
    env = os.environ if environ is None else environ
    return env.get(API_KEY_ENV, "").strip() or None


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1 or localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_open_writes(host: str, api_key: str | None, *, allow_open_writes: bool) -> str | None:
    """Refuse open write endpoints on a reachable address; warn about them on loopback.

    Returns:
        A warning to show when writes are open (no key), else ``None``.

    Raises:
        ConfigError: no key, a non-loopback ``host`` and no ``allow_open_writes``.
    """
    if api_key is not None:
        return None
    if not is_loopback(host) and not allow_open_writes:
        raise ConfigError(
            f"serve: --host {host} without an API key would let anyone who reaches it post "
            f"events; set ${API_KEY_ENV} or --api-key-file, or pass --allow-open-writes"
        )
    return (
        f"no API key: POST /events is open to anyone who reaches {host}; "
        f"set ${API_KEY_ENV} or --api-key-file to require one"
    )
