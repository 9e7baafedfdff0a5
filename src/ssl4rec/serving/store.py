"""Event store: interactions posted to the service, persisted through SQLAlchemy.

SQLite (a file in WAL mode, or memory) is the embedded default; any SQLAlchemy URL
(PostgreSQL for several API replicas over one store) works the same way. Events keep
raw user and item ids, so a store outlives a retrained model with new indices.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ssl4rec.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Insert

__all__ = ["EventRecord", "EventStore", "StoredEvent"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventRecord:
    """One interaction to store (raw ids)."""

    user: str
    item: str
    timestamp: int
    weight: float = 1.0
    event_id: str | None = None
    """Client-chosen unique id; a repeated id is stored once (idempotent retries)."""


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored, with its store-assigned ``id``."""

    id: int
    user: str
    item: str
    timestamp: int
    weight: float
    event_id: str | None
    duplicate: bool = False
    """True when ``event_id`` was already stored and nothing new was written."""


class EventStore:
    """Append-only interaction log over a SQLAlchemy engine.

    Thread-safe: every call takes its own pooled connection (an in-memory SQLite
    database has one shared connection behind a lock).

    Args:
        url: SQLAlchemy URL, e.g. ``sqlite:///events.sqlite`` or
            ``postgresql+psycopg://user@localhost/ssl4rec``; PostgreSQL over TLS
            with ``?sslmode=require`` (or ``verify-full``) in the URL.
        key: SQLCipher key (32 bytes): the SQLite file is encrypted (``sqlcipher3``).

    Raises:
        ConfigError: the URL cannot be parsed, its driver is not installed, or the
            key does not open the file (a wrong key, or a plain SQLite file).
    """

    def __init__(self, url: str, *, key: bytes | None = None) -> None:
        try:
            import sqlalchemy as sa
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError(
                "the event store needs SQLAlchemy; pip install 'ssl4rec[serve]'"
            ) from err
        self.url = url
        self._sa = sa
        try:
            parsed = sa.engine.make_url(url)
        except sa.exc.ArgumentError as err:
            raise ConfigError(
                f"ServeSettings.db must be a file path or a URL; got {url!r}"
            ) from err
        self.dialect = parsed.get_backend_name()
        self._memory = self.dialect == "sqlite" and parsed.database in (None, "", ":memory:")
        self._lock = threading.Lock() if self._memory else None
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if self._memory:
                kwargs["poolclass"] = sa.pool.StaticPool
        if key is not None:
            kwargs["module"] = _sqlcipher_module(self.dialect, self._memory)
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine = sa.create_engine(url, **kwargs)
        except (ImportError, sa.exc.ArgumentError) as err:
            raise ConfigError(f"ServeSettings.db: cannot open {url!r}: {err}") from err
        if key is not None:  # the key must be the first statement on every connection
            sa.event.listen(self.engine, "connect", _sqlcipher_key(key))
        if self.dialect == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        meta = sa.MetaData()
        big_int = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
        self.table = sa.Table(
            "ssl4rec_events",
            meta,
            sa.Column("id", big_int, primary_key=True, autoincrement=True),
            sa.Column("event_id", sa.String(200), unique=True, nullable=True),
            sa.Column("user_id", sa.String(200), nullable=False),
            sa.Column("item_id", sa.String(200), nullable=False),
            sa.Column("timestamp", sa.BigInteger(), nullable=False),
            sa.Column("weight", sa.Float(), nullable=False),
            sa.Column("received_at", sa.Float(), nullable=False),
            sa.Index("ix_ssl4rec_events_user", "user_id", "timestamp", "id"),
        )
        try:
            meta.create_all(self.engine)
        except sa.exc.DatabaseError as err:
            if key is None and "not a database" not in str(err):
                raise
            raise ConfigError(
                f"ServeSettings.db: cannot open {parsed.database!r}"
                + (" with this key: a wrong key, or not an encrypted store" if key else
                   ": an encrypted store needs its key (--db-key-file or $SSL4REC_DB_KEY)")
            ) from None
        t = self.table
        self._select_user = (
            sa.select(t.c.item_id)
            .where(t.c.user_id == sa.bindparam("user"))
            .order_by(t.c.timestamp.desc(), t.c.id.desc())
            .limit(sa.bindparam("limit"))
        )
        logger.info("event store ready: backend=%s", self.dialect)

    # ------------------------------------------------------------------ writing
    def add(self, events: Sequence[EventRecord]) -> list[StoredEvent]:
        """Store events in one transaction; returns them with their ids, in order."""
        sa = self._sa
        t = self.table
        now = time.time()
        out: list[StoredEvent] = []
        with self._locked(), self.engine.begin() as conn:
            for ev in events:
                row = {
                    "event_id": ev.event_id,
                    "user_id": ev.user,
                    "item_id": ev.item,
                    "timestamp": int(ev.timestamp),
                    "weight": float(ev.weight),
                    "received_at": now,
                }
                if ev.event_id is None:
                    key = conn.execute(t.insert().values(**row)).inserted_primary_key
                    assert key is not None  # a single-row INSERT reports its key
                    out.append(_stored(key[0], ev))
                    continue
                new_id = conn.execute(self._insert_ignore(row)).scalar()
                if new_id is not None:
                    out.append(_stored(new_id, ev))
                    continue
                old = conn.execute(sa.select(t).where(t.c.event_id == ev.event_id)).one()
                out.append(_from_row(old, duplicate=True))
        return out

    def _insert_ignore(self, row: dict[str, Any]) -> Any:
        """INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING id."""
        stmt: Insert
        if self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(self.table).on_conflict_do_nothing(index_elements=["event_id"])
        elif self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as postgresql_insert

            stmt = postgresql_insert(self.table).on_conflict_do_nothing(index_elements=["event_id"])
        else:  # pragma: no cover - other backends
            raise ConfigError(
                f"ServeSettings.db: event ids need SQLite or PostgreSQL; got {self.dialect!r}"
            )
        return stmt.values(**row).returning(self.table.c.id)

    # ------------------------------------------------------------------ reading
    def delete_user(self, user: str) -> int:
        """Delete every event of ``user`` in one transaction; returns how many."""
        t = self.table
        with self._locked(), self.engine.begin() as conn:
            result = conn.execute(self._sa.delete(t).where(t.c.user_id == user))
        return int(result.rowcount or 0)

    def user_items(self, user: str, *, limit: int) -> list[str]:
        """The user's ``limit`` most recent item ids, oldest first (time, then arrival)."""
        with self._locked(), self.engine.connect() as conn:
            rows = conn.execute(self._select_user, {"user": user, "limit": limit}).all()
        return [r[0] for r in reversed(rows)]

    def user_events(self, user: str, *, limit: int = 100) -> list[StoredEvent]:
        """The user's ``limit`` most recent events, oldest first."""
        sa = self._sa
        t = self.table
        stmt = (
            sa.select(t)
            .where(t.c.user_id == user)
            .order_by(t.c.timestamp.desc(), t.c.id.desc())
            .limit(limit)
        )
        with self._locked(), self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [_from_row(r) for r in reversed(rows)]

    def users(self, *, limit: int = 100) -> list[str]:
        """Ids of users with stored events, most recently active first."""
        sa = self._sa
        t = self.table
        stmt = (
            sa.select(t.c.user_id)
            .group_by(t.c.user_id)
            .order_by(sa.func.max(t.c.id).desc())
            .limit(limit)
        )
        with self._locked(), self.engine.connect() as conn:
            return [r[0] for r in conn.execute(stmt)]

    def count(self) -> int:
        """Number of stored events."""
        sa = self._sa
        with self._locked(), self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(self.table)).scalar_one()
            )

    def ping(self) -> None:
        """Run a trivial query (raises when the database is unreachable)."""
        with self._locked(), self.engine.connect() as conn:
            conn.execute(self._sa.text("SELECT 1"))

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    def _locked(self) -> Any:
        return self._lock if self._lock is not None else _NoLock()


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _from_row(row: Any, *, duplicate: bool = False) -> StoredEvent:
    """A ``StoredEvent`` from a row of the events table."""
    return StoredEvent(
        id=int(row.id),
        user=row.user_id,
        item=row.item_id,
        timestamp=int(row.timestamp),
        weight=float(row.weight),
        event_id=row.event_id,
        duplicate=duplicate,
    )


def _stored(new_id: Any, ev: EventRecord) -> StoredEvent:
    return StoredEvent(
        id=int(new_id),
        user=ev.user,
        item=ev.item,
        timestamp=int(ev.timestamp),
        weight=float(ev.weight),
        event_id=ev.event_id,
    )


def _sqlcipher_module(dialect: str, memory: bool) -> Any:
    """The SQLCipher DB-API module (``sqlcipher3``) for an encrypted SQLite file."""
    if dialect != "sqlite" or memory:
        raise ConfigError("ServeSettings.db_key: encryption is for SQLite files (not memory, not other databases)")
    try:
        from sqlcipher3 import dbapi2
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ConfigError("an encrypted event store needs sqlcipher3; pip install 'ssl4rec[privacy]'") from err
    return dbapi2


def _sqlcipher_key(key: bytes) -> Any:
    def apply(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA cipher_log_level = NONE")  # a wrong key is our one-line error
        cur.execute(f"PRAGMA key = \"x'{key.hex()}'\"")  # hex digits only: nothing to escape
        cur.close()

    return apply


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers run while one writer appends; NORMAL sync is durable across
    # application crashes (the last commits may be lost only on power failure).
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
