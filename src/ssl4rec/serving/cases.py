"""Several application cases behind one server, one full service app per case.

``create_cases_app`` mounts the app of each case (``create_app`` with the case's model
and its own event store) under ``/cases/NAME/``; ``/`` opens the first case and
``/cases`` lists them. Every case keeps the whole API and the web page, whose case
switch moves between them. Starlette does not run the lifespan of a mounted app, so
the root app's lifespan enters each case app's own (model loading, store, live
updates) and leaves them in reverse order.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from ssl4rec.errors import ConfigError
from ssl4rec.serving.app import create_app
from ssl4rec.serving.settings import ServeSettings

__all__ = ["CaseApp", "create_cases_app"]


@dataclass(frozen=True)
class CaseApp:
    """One case to serve: its settings (``case`` and ``cases`` set) and, optionally, its model."""

    settings: ServeSettings
    model: Any = None


def create_cases_app(entries: Sequence[CaseApp]) -> Any:
    """The root app: each case's service under ``/cases/NAME/``.

    Args:
        entries: the cases, in the order of the web page's switch; each ``settings``
            names its case (``settings.case``) and its own event store.

    Returns:
        A ``fastapi.FastAPI`` app.

    Raises:
        ConfigError: no case, a case without a name, or two cases with one name.
    """
    from fastapi import FastAPI
    from fastapi.responses import RedirectResponse

    names = [e.settings.case.name if e.settings.case else "" for e in entries]
    if not entries:
        raise ConfigError("create_cases_app: no case to serve")
    if "" in names or len(set(names)) != len(names):
        raise ConfigError(f"create_cases_app: each case needs its own name; got {names}")
    apps = {n: create_app(e.settings, model=e.model) for n, e in zip(names, entries, strict=True)}

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for sub in apps.values():
                await stack.enter_async_context(sub.router.lifespan_context(sub))
            yield

    root = FastAPI(title="ssl4rec cases", lifespan=lifespan, docs_url=None, redoc_url=None)
    root.state.case_apps = apps

    @root.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse(f"/cases/{names[0]}/")

    @root.get("/cases")
    def cases() -> list[dict[str, Any]]:
        """The served cases: name, title, question and the path of each one's pages."""
        return [
            {
                "name": n,
                "title": e.settings.case.title if e.settings.case else n,
                "question": e.settings.case.question if e.settings.case else "",
                "path": f"/cases/{n}/",
            }
            for n, e in zip(names, entries, strict=True)
        ]

    for name, sub in apps.items():
        # /cases/NAME without the slash: the page's relative links need it
        root.add_api_route(
            f"/cases/{name}",
            _redirect(f"/cases/{name}/"),
            methods=["GET"],
            include_in_schema=False,
        )
        root.mount(f"/cases/{name}", sub)
    return root


def _redirect(target: str) -> Any:
    from fastapi.responses import RedirectResponse

    def go() -> RedirectResponse:
        return RedirectResponse(target)

    return go
