"""Endpoints of the live service: new items, versions, rollback, updates, metrics.

``install(app)`` mounts them with the ``VersionHeader`` middleware; ``start(app,
model_dir)`` runs in the app's lifespan once the model is loaded.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ssl4rec.serving.live import MAX_ITEM_TEXT, LiveSettings, LiveState, VersionHeader
from ssl4rec.serving.routes import _errors, require_api_key
from ssl4rec.serving.schemas import MAX_ID_LENGTH, ErrorBody
from ssl4rec.serving.service import RequestError

__all__ = ["install", "live_router", "start", "stop"]

logger = logging.getLogger(__name__)

live_router = APIRouter(responses=_errors(422, 503))

Value = str | int | float | bool | list[str] | None

_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorBody,
        "description": "an existing item id, a model that cannot rank new items, "
        "or no earlier version to roll back to",
    }
}


class ItemIn(BaseModel):
    """A new item: its id, the text the model's encoder reads, optional fields."""

    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    text: str = Field(max_length=MAX_ITEM_TEXT, description="Encoded as the item's text.")
    title: str | None = Field(default=None, max_length=1000)
    """Shown in lists and searched by ``/items?query=``; default: the text's first line."""
    attributes: dict[str, Value] = Field(default_factory=dict, max_length=100)
    """Item-table fields (``year``, ``genres`` ...); columns the table lacks are ignored."""

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must hold some non-space characters")
        return value


class ItemAdded(BaseModel):
    """The added item and the model version that serves it."""

    item: str
    title: str | None
    index: int
    version: int


class VersionOut(BaseModel):
    """A model version."""

    version: int
    source: str
    created_at: float
    path: str | None
    num_items: int
    last_event_id: int


async def get_live(request: Request) -> LiveState:
    """The live state; 503 while no model is loaded."""
    live = getattr(request.app.state, "live", None)
    if live is None:
        raise RequestError(503, "model", "model not loaded")
    return live


Live = Annotated[LiveState, Depends(get_live)]
_WRITE: dict[str, Any] = {"dependencies": [Depends(require_api_key)]}


@live_router.post(
    "/items",
    response_model=ItemAdded,
    status_code=status.HTTP_201_CREATED,
    tags=["items"],
    responses={**_errors(401, 403, 413), **_CONFLICT},
    **_WRITE,
)
def add_item(live: Live, body: ItemIn) -> Any:
    """Add an item at runtime: encoded by the model's text encoder, recommendable at once.

    409 for an existing id, and for models that cannot rank items unseen in training
    (ID-only models); the item is stored, so a restart keeps it.
    """
    title = body.title or body.text.strip().splitlines()[0][:200]
    fields = {**body.attributes, "title": title}
    version, index = live.add_item(body.item, body.text, fields)
    return ItemAdded(item=body.item, title=title, index=index, version=version.number)


@live_router.get("/admin/versions", response_model=list[VersionOut], tags=["admin"])
async def versions(live: Live) -> Any:
    """The kept model versions, oldest first; the last one is served."""
    return live.describe()


@live_router.post(
    "/admin/rollback",
    response_model=VersionOut,
    tags=["admin"],
    responses={**_errors(401, 403), **_CONFLICT},
    **_WRITE,
)
def rollback(live: Live) -> Any:
    """Serve the previous version again (409 when none is kept)."""
    live.rollback()
    return live.describe()[-1]


@live_router.post("/admin/update", tags=["admin"], responses=_errors(401, 403), **_WRITE)
def update(live: Live) -> dict[str, Any]:
    """Run one online update now (what ``--update-every`` runs); swaps if the guard accepts."""
    result = live.run_update()
    return {"version": live.current.number, **(live.last_update or result.to_dict())}


@live_router.get("/metrics", tags=["status"], include_in_schema=False)
def metrics(live: Live) -> Response:
    """Prometheus metrics (text exposition format)."""
    live.metrics.events.set(live.store.count())
    body, content_type = live.metrics.render()
    return Response(body, media_type=content_type)


def install(app: Any) -> None:
    """Mount the live endpoints and the version middleware on ``app``."""
    app.include_router(live_router)
    app.add_middleware(VersionHeader)


def start(app: Any, model_dir: Path | None) -> None:
    """Create the live state for the loaded service (in the lifespan) and start updates.

    Reads ``app.state.live_settings`` (default ``LiveSettings()``) and
    ``app.state.text_encoder`` (default: the model's own encoder, loaded on first use).
    """
    service = app.state.service
    if service is None:
        app.state.live = None
        return
    settings: LiveSettings = getattr(app.state, "live_settings", None) or LiveSettings()
    live = LiveState(
        service,
        service.store,
        app.state.settings,
        settings,
        model_dir=model_dir,
        encoder=getattr(app.state, "text_encoder", None),
    )
    app.state.live = live
    app.state.service = live.current.service
    live.on_swap = lambda version: setattr(app.state, "service", version.service)
    live.start()


def stop(app: Any) -> None:
    """Stop scheduled updates."""
    live = getattr(app.state, "live", None)
    if live is not None:
        live.stop()
    app.state.live = None
