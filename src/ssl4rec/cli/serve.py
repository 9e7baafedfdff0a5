"""``ssl4rec serve --model RUN_DIR [--host 127.0.0.1] [--port 8000] [--db events.sqlite] [--backend onnx]``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

HostOption = Annotated[str, typer.Option(help="Interface to bind.")]
PortOption = Annotated[int, typer.Option(help="TCP port.")]
ApiKeyFileOption = Annotated[
    Path | None,
    typer.Option(
        help="File whose first line is the key required by write endpoints "
        "(default: $SSL4REC_API_KEY)."
    ),
]
OpenWritesOption = Annotated[
    bool,
    typer.Option("--allow-open-writes", help="Serve a non-loopback --host without an API key."),
]


def serve_command(
    model: Annotated[
        Path, typer.Option("--model", "-m", help="Saved model folder, or a run folder with model/.")
    ],
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    db: Annotated[
        str, typer.Option(help="Event store: SQLite file, ':memory:', or a SQLAlchemy URL.")
    ] = "events.sqlite",
    api_key_file: ApiKeyFileOption = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            hidden=True, help="Removed: a key on the command line shows in process listings."
        ),
    ] = None,
    allow_open_writes: OpenWritesOption = False,
    retrieval: Annotated[
        str, typer.Option(help="Top-k over item vectors: auto, exact or faiss.")
    ] = "auto",
    faiss_min_items: Annotated[
        int, typer.Option(help="Catalog size from which 'auto' uses faiss.")
    ] = 100_000,
    cors_origin: Annotated[
        list[str] | None, typer.Option(help="Allow this origin through CORS (repeatable).")
    ] = None,
    torch_threads: Annotated[
        int | None, typer.Option(help="Intra-op threads for torch models (one request at a time).")
    ] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
    backend: Annotated[
        str,
        typer.Option(help="Scoring backend: torch, or onnx (ONNX Runtime; see docs/compression.md)."),
    ] = "torch",
    db_key_file: Annotated[
        Path | None,
        typer.Option(
            help="Key of an encrypted SQLite event store (SQLCipher) and of the model "
            "folder's encrypted files: 64 hex characters (default: $SSL4REC_DB_KEY)."
        ),
    ] = None,
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="Serve HTTPS with this certificate (PEM).")
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option(help="Private key of --ssl-certfile (PEM).")
    ] = None,
    update_every: Annotated[
        str | None,
        typer.Option(help="Run an online update this often (e.g. 10m; ssl4rec update)."),
    ] = None,
    versions_dir: Annotated[
        Path | None, typer.Option(help="Save accepted updates (and rejected ones) here.")
    ] = None,
    keep_versions: Annotated[int, typer.Option(help="Model versions kept for rollback.")] = 3,
    update_tolerance: Annotated[
        float, typer.Option(help="Accept an update when NDCG@10 ≥ the served one's − this.")
    ] = 0.0,
) -> None:
    """Serve recommendations, explanations, events and the web page over HTTP."""
    from ssl4rec.errors import ConfigError
    from ssl4rec.serving.settings import (
        API_KEY_ENV,
        ServeSettings,
        check_open_writes,
        read_api_key,
    )

    if api_key is not None:
        raise ConfigError(
            f"--api-key was removed: process listings show the command line; "
            f"set ${API_KEY_ENV} or pass --api-key-file"
        )
    key = read_api_key(api_key_file)
    from ssl4rec.privacy.crypto import read_key, using_key

    db_key = read_key(db_key_file)
    tls = _tls_files(ssl_certfile, ssl_keyfile)
    warning = check_open_writes(host, key, allow_open_writes=allow_open_writes)
    if backend != "torch" and update_every is not None:
        from ssl4rec.errors import ConfigError

        raise ConfigError(
            f"--update-every needs the torch backend: the {backend} graph cannot be trained; "
            "drop --backend or --update-every"
        )
    live = _live_settings(update_every, versions_dir, keep_versions, update_tolerance)

    import uvicorn

    from ssl4rec.models.base import load_model
    from ssl4rec.serving.app import create_app, resolve_model_dir

    model_dir = resolve_model_dir(model)
    settings = ServeSettings(
        model_dir=str(model_dir),
        db=db,
        api_key=key,
        retrieval=retrieval,  # type: ignore[arg-type]
        faiss_min_items=faiss_min_items,
        cors_origins=tuple(cors_origin or ()),
        torch_threads=torch_threads,
        db_key=db_key,
    )
    # load before binding the port, so a bad folder fails with one line naming the file
    with using_key(db_key):
        loaded = load_model(model_dir)
    if backend != "torch":
        from ssl4rec.compress.serving import onnx_backed

        loaded = onnx_backed(loaded, model_dir, backend=backend, threads=torch_threads)
    from ssl4rec.serving.store import EventStore

    EventStore(settings.db_url, key=db_key).close()  # a wrong key fails here, in one line
    app = create_app(settings, model=loaded)
    app.state.live_settings = live
    typer.echo(
        f"serving {loaded.name} from {model_dir} on http{'s' if tls else ''}://{host}:{port}/ "
        f"(events: {settings.db}, api key: {'on' if settings.api_key else 'off'})"
    )
    if warning is not None:
        logging.getLogger("ssl4rec.serving").warning(warning)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        ssl_certfile=tls.get("ssl_certfile"),
        ssl_keyfile=tls.get("ssl_keyfile"),
    )


def _tls_files(certfile: Path | None, keyfile: Path | None) -> dict[str, str]:
    """Uvicorn's TLS arguments; both files or neither, each must exist."""
    from ssl4rec.errors import ConfigError

    if (certfile is None) != (keyfile is None):
        raise ConfigError("--ssl-certfile and --ssl-keyfile go together; got only one")
    if certfile is None or keyfile is None:
        return {}
    for path in (certfile, keyfile):
        if not path.is_file():
            raise ConfigError(f"{path}: TLS file not found")
    return {"ssl_certfile": str(certfile), "ssl_keyfile": str(keyfile)}


def _live_settings(
    update_every: str | None, versions_dir: Path | None, keep: int, tolerance: float
) -> object:
    """``LiveSettings`` from the serve options (``--update-every 10m`` ...)."""
    from ssl4rec.errors import ConfigError
    from ssl4rec.runner.online import UpdateConfig
    from ssl4rec.serving.live import LiveSettings, parse_interval

    try:
        every = parse_interval(update_every) if update_every is not None else None
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return LiveSettings(
        update_every_s=every,
        versions_dir=str(versions_dir) if versions_dir is not None else None,
        keep_versions=keep,
        update=UpdateConfig(tolerance=tolerance),
    )
