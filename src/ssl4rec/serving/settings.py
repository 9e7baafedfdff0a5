"""Settings of the recommendation service (plain data, YAML-able)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from ssl4rec.config.base import Checks

__all__ = ["API_KEY_ENV", "ServeSettings"]

API_KEY_ENV = "SSL4REC_API_KEY"
"""Environment variable read by the CLI when ``--api-key`` is not given."""


@dataclass(frozen=True, kw_only=True)
class ServeSettings:
    """How the service loads its model, stores events and answers requests."""

    model_dir: str | None = None
    """Saved model folder (``model.save``) or a run folder holding ``model/``; ``None``
    when the model is passed to ``create_app`` directly."""
    db: str = "events.sqlite"
    """Event store: a SQLite file path (WAL mode), ``":memory:"``, or a SQLAlchemy URL
    such as ``postgresql+psycopg://user@host/db``."""
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
