"""Items added at runtime (``POST /items``), kept in the event store's database.

A row holds the raw id, the text, the item-table fields, the encoder that made the
vector and the vector itself (float32 bytes), so a restart re-adds every item
without loading the encoder; a vector from another encoder or width is encoded
again from the text.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from ssl4rec.serving.store import EventStore

__all__ = ["AddedItem", "ItemCatalog", "stored_events"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AddedItem:
    """One item added at runtime."""

    item: str
    text: str
    fields: dict[str, Any]
    encoder: str
    vector: np.ndarray
    created_at: float


class ItemCatalog:
    """The ``ssl4rec_items`` table next to the events (same database, same engine).

    Args:
        store: the service's event store; its engine and lock are reused.
    """

    def __init__(self, store: EventStore) -> None:
        sa = store._sa
        self.store = store
        meta = sa.MetaData()
        self.table = sa.Table(
            "ssl4rec_items",
            meta,
            sa.Column("item_id", sa.String(200), primary_key=True),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("fields", sa.Text(), nullable=False),
            sa.Column("encoder", sa.String(200), nullable=False),
            sa.Column("vector", sa.LargeBinary(), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
        )
        meta.create_all(store.engine)

    def add(self, item: AddedItem) -> None:
        """Insert one item (the caller checked that its id is new)."""
        row = {
            "item_id": item.item,
            "text": item.text,
            "fields": json.dumps(item.fields),
            "encoder": item.encoder,
            "vector": np.asarray(item.vector, dtype="<f4").tobytes(),
            "created_at": item.created_at,
        }
        with self.store._locked(), self.store.engine.begin() as conn:
            conn.execute(self.table.insert().values(**row))

    def all(self) -> list[AddedItem]:
        """Every added item, oldest first."""
        sa = self.store._sa
        stmt = sa.select(self.table).order_by(self.table.c.created_at, self.table.c.item_id)
        with self.store._locked(), self.store.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            AddedItem(
                item=r.item_id,
                text=r.text,
                fields=json.loads(r.fields),
                encoder=r.encoder,
                vector=np.frombuffer(r.vector, dtype="<f4").astype(np.float32),
                created_at=float(r.created_at),
            )
            for r in rows
        ]


def stored_events(store: EventStore) -> list[tuple[int, str, str, int]]:
    """Every stored event as ``(id, user, item, timestamp)``, in id (arrival) order."""
    sa = store._sa
    t = store.table
    stmt = sa.select(t.c.id, t.c.user_id, t.c.item_id, t.c.timestamp).order_by(t.c.id)
    with store._locked(), store.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [(int(r.id), r.user_id, r.item_id, int(r.timestamp)) for r in rows]
