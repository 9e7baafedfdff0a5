"""The FastAPI app factory: ``create_app(settings, model=None)``.

The model and the event store open in the app's lifespan (not at import), so
building an app is cheap and a test can pass a fitted model directly. Every error
is a JSON body ``{"detail": ..., "field": ...}``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from ssl4rec.serving.settings import ServeSettings

__all__ = ["create_app", "resolve_model_dir"]

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")


def resolve_model_dir(path: str | Path) -> Path:
    """A saved model folder, or a run folder's ``model/`` inside it."""
    path = Path(path)
    return path / "model" if (path / "model" / "config.yaml").is_file() else path


def create_app(settings: ServeSettings | None = None, model: Any = None) -> Any:
    """Build the service app.

    Args:
        settings: service settings (defaults: SQLite ``events.sqlite`` in the
            working folder, no API key).
        model: a fitted recommender to serve (``settings.model_dir``, if set, is
            then only reported); when ``None``, the model is loaded from
            ``settings.model_dir`` at startup, and model endpoints answer 503 if
            that is ``None`` too.

    Returns:
        A ``fastapi.FastAPI`` app; run it with uvicorn.

    Raises:
        DataError: at startup, a missing or corrupt model file (named).
    """
    try:
        from fastapi import FastAPI
        from fastapi.exceptions import RequestValidationError
        from fastapi.responses import FileResponse, JSONResponse
        from fastapi.staticfiles import StaticFiles
        from starlette.exceptions import HTTPException as StarletteHTTPException
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("serving needs FastAPI; pip install 'ssl4rec[serve]'") from err

    from ssl4rec import __version__
    from ssl4rec.serving import live_routes
    from ssl4rec.serving.routes import router
    from ssl4rec.serving.service import RecommendationService, RequestError

    settings = settings or ServeSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from ssl4rec.serving.store import EventStore

        if settings.torch_threads is not None:
            import torch

            torch.set_num_threads(settings.torch_threads)
        served = model
        model_dir = resolve_model_dir(settings.model_dir) if settings.model_dir else None
        if served is None and model_dir is not None:
            from ssl4rec.models.base import load_model
            from ssl4rec.privacy.crypto import using_key

            with using_key(settings.db_key):
                served = load_model(model_dir)
            logger.info("model loaded: name=%s dir=%s", served.name, model_dir)
        store = EventStore(settings.db_url, key=settings.db_key)
        app.state.store = store
        app.state.service = (
            RecommendationService(served, store, settings, model_dir=model_dir)
            if served is not None
            else None
        )
        if app.state.service is None:
            logger.warning("no model to serve; model endpoints answer 503")
        live_routes.start(app, model_dir)  # versions, new items, scheduled updates
        try:
            yield
        finally:
            live_routes.stop(app)
            app.state.service = None
            store.close()

    app = FastAPI(
        title="ssl4rec",
        version=__version__,
        description="Recommendations, explanations and online events for a saved ssl4rec model.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = None

    @app.exception_handler(RequestError)
    async def _request_error(_: Any, exc: RequestError) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.message, "field": exc.field}, status_code=exc.status_code
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Any, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        return JSONResponse(
            {"detail": _jsonable_errors(errors), "field": _first_field(errors)}, status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Any, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail, "field": None}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _internal_error(_: Any, exc: Exception) -> JSONResponse:
        logger.exception("request failed: %s", exc)
        return JSONResponse({"detail": "internal server error", "field": None}, status_code=500)

    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key"],
        )

    from ssl4rec.serving.limits import BodySizeLimit

    live_routes.install(app)  # POST /items, /admin/*, /metrics, X-Model-Version
    # outermost: an oversized body is refused before CORS, routing or parsing
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(router)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _first_field(errors: Any) -> str | None:
    """``"k"`` from a loc like ``("query", "k")``; ``"items[2]"`` from body paths."""
    for err in errors:
        if err.get("type") == "json_invalid" or tuple(err.get("loc", ())) == ("body",):
            return "body"
        loc = [p for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        if loc:
            out = str(loc[0])
            for part in loc[1:]:
                out += f"[{part}]" if isinstance(part, int) else f".{part}"
            return out
    return None


def _jsonable_errors(errors: Any) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        row = {k: v for k, v in err.items() if k in ("type", "loc", "msg")}
        row["loc"] = list(row.get("loc", ()))
        out.append(row)
    return out
