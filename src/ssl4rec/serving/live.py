"""The live side of the service: model versions, hot swap, new items, scheduled updates.

Every request reads one ``RecommendationService`` (model + indexes) from
``LiveState.current`` when it starts and keeps it to the end, so swapping in a new
version is one reference assignment: requests already running finish on the old
model, the next ones get the new one, and nothing waits on a lock. Writers (new
items, updates, rollback) build the new service beside the old one, under a lock
that only writers take.

- ``add_item`` encodes the text with the model's encoder, copies the model with one
  more item (``ssl4rec.models.catalog.with_items``), stores the item (id, text,
  fields, vector) in the database, and swaps.
- ``run_update`` reads the events stored since the last update, runs
  ``ssl4rec.runner.online.update_model`` on the served model, and swaps if its guard
  accepts; every accepted version is saved under ``versions_dir`` (the last
  ``keep_versions``), rejected ones under ``versions_dir/rejected/`` with the reason.
- ``rollback`` swaps the previous version back in.

Prometheus metrics (``prometheus-client``, one registry per app): requests and
latency per endpoint, events ingested, the served version, update runs by outcome.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ssl4rec.config.base import Checks
from ssl4rec.runner.online import UpdateConfig, UpdateResult, update_model
from ssl4rec.serving.catalog import AddedItem, ItemCatalog, stored_events
from ssl4rec.serving.service import RecommendationService, RequestError
from ssl4rec.serving.settings import ServeSettings
from ssl4rec.serving.store import EventStore

__all__ = [
    "LiveSettings",
    "LiveState",
    "Metrics",
    "Version",
    "VersionHeader",
    "parse_interval",
    "read_last_event_id",
    "write_update_json",
]

logger = logging.getLogger(__name__)

MAX_ITEM_TEXT = 10_000
"""Longest item text ``POST /items`` accepts (characters); longer is a 422."""


def parse_interval(value: str) -> float:
    """Seconds from ``"90s"``, ``"10m"``, ``"2h"`` or a plain number of seconds.

    Raises:
        ValueError: anything else (the message names the value).
    """
    text = value.strip().lower()
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    scale = units.get(text[-1:], None)
    number = text[:-1] if scale is not None else text
    try:
        seconds = float(number) * (scale or 1.0)
    except ValueError:
        raise ValueError(f"--update-every must look like 90s, 10m or 2h; got {value!r}") from None
    if not seconds > 0:
        raise ValueError(f"--update-every must be > 0; got {value!r}")
    return seconds


@dataclass(frozen=True, kw_only=True)
class LiveSettings:
    """Online updates and versions of a running service."""

    update_every_s: float | None = None
    """Seconds between scheduled updates; ``None`` runs none (``POST /admin/update`` still can)."""
    versions_dir: str | None = None
    """Folder for saved versions (``v0001/`` ...) and rejected updates; ``None``: memory only."""
    keep_versions: int = 3
    """Versions kept (in memory for rollback, and on disk)."""
    update: UpdateConfig = field(default_factory=UpdateConfig)
    """How each update trains and is guarded."""

    def __post_init__(self) -> None:
        checks = Checks("LiveSettings")
        checks.positive("update_every_s", self.update_every_s)
        checks.in_range("keep_versions", self.keep_versions, 1, 1000)
        checks.raise_if_any()


@dataclass
class Version:
    """One served model version."""

    number: int
    service: RecommendationService
    source: str
    """``"loaded"``, ``"item <id>"``, ``"update"``, ``"rollback to N"``."""
    created_at: float = field(default_factory=time.time)
    path: str | None = None
    """Where it was saved, if it was."""
    last_event_id: int = 0
    """Events with ids up to this one were seen by the updates behind this version."""


class Metrics:
    """Prometheus collectors of one app (own registry, so several apps never clash)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ssl4rec_requests_total",
            "HTTP requests by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ssl4rec_request_seconds",
            "Request latency by method and route.",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
            registry=self.registry,
        )
        self.events = Gauge(
            "ssl4rec_events_stored",
            "Events in the event store (read at scrape time).",
            registry=self.registry,
        )
        self.items = Counter(
            "ssl4rec_items_added_total", "Items added by POST /items.", registry=self.registry
        )
        self.version = Gauge(
            "ssl4rec_model_version", "Version number of the served model.", registry=self.registry
        )
        self.updates = Counter(
            "ssl4rec_updates_total",
            "Online update runs by outcome (accepted, rejected, skipped, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.update_seconds = Histogram(
            "ssl4rec_update_seconds",
            "Duration of online update runs.",
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
            registry=self.registry,
        )

    def render(self) -> tuple[bytes, str]:
        """The text exposition format and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class LiveState:
    """Versions of the served model and the writers that make new ones.

    Args:
        service: the service of the loaded model (version 1).
        store: the event store (events for updates, the item table's database).
        settings: the service settings (new services are built with them).
        live: update schedule and version keeping.
        model_dir: the folder the model came from (its ``update.json``, if any,
            says which stored events it has seen).
        encoder: the text encoder of new items; ``None`` loads
            ``model.config.text_encoder`` with sentence-transformers on first use.
    """

    def __init__(
        self,
        service: RecommendationService,
        store: EventStore,
        settings: ServeSettings,
        live: LiveSettings,
        *,
        model_dir: Path | None = None,
        encoder: Any = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.live = live
        self.model_dir = model_dir
        self.encoder = encoder
        self.metrics = Metrics()
        self.catalog = ItemCatalog(store)
        self._write = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_update: dict[str, Any] | None = None
        self.on_swap: Callable[[Version], None] | None = None
        """Called with each version made current (the app keeps ``app.state.service`` in step)."""
        seen = read_last_event_id(model_dir)
        self.versions: list[Version] = [Version(1, service, "loaded", last_event_id=seen)]
        self.metrics.version.set(1)
        self._restore_items()

    # ------------------------------------------------------------------ reading
    @property
    def current(self) -> Version:
        """The version requests read now (one attribute read: no lock)."""
        return self.versions[-1]

    def describe(self) -> list[dict[str, Any]]:
        """The kept versions, oldest first."""
        return [
            {
                "version": v.number,
                "source": v.source,
                "created_at": v.created_at,
                "path": v.path,
                "num_items": v.service.num_items,
                "last_event_id": v.last_event_id,
            }
            for v in self.versions
        ]

    # ------------------------------------------------------------------ swapping
    def _install(
        self, model: Any, source: str, *, last_event_id: int | None = None, save: bool = False
    ) -> Version:
        """Build a service for ``model`` and make it current (the caller holds ``_write``)."""
        old = self.current
        service = RecommendationService(
            model, self.store, self.settings, model_dir=old.service.model_dir
        )
        number = max(v.number for v in self.versions) + 1
        version = Version(
            number,
            service,
            source,
            last_event_id=old.last_event_id if last_event_id is None else last_event_id,
        )
        if save and self.live.versions_dir is not None:
            version.path = str(self._save(model, f"v{number:04d}", version))
        # list.append + slicing build the new list first; the assignment is the swap
        self.versions = [*self.versions, version][-self.live.keep_versions :]
        self._prune_disk()
        self._swapped(version)
        logger.info("model version %d now served (%s)", number, source)
        return version

    def rollback(self) -> Version:
        """Serve the previous kept version again, under a new version number.

        The current version is dropped from the kept ones, so a second rollback goes
        one further back.

        Raises:
            RequestError: 409 when no earlier version is kept.
        """
        with self._write:
            if len(self.versions) < 2:
                raise RequestError(409, "version", "no earlier model version is kept")
            previous = self.versions[-2]
            number = max(v.number for v in self.versions) + 1
            version = Version(
                number,
                previous.service,
                f"rollback to {previous.number}",
                path=previous.path,
                last_event_id=self.current.last_event_id,
            )
            self.versions = [*self.versions[:-2], version]
            self._swapped(version)
            logger.warning("rolled back to version %d (now %d)", previous.number, number)
            return version

    def _swapped(self, version: Version) -> None:
        self.metrics.version.set(version.number)
        if self.on_swap is not None:
            self.on_swap(version)

    # ------------------------------------------------------------------ new items
    def add_item(self, item: str, text: str, fields: dict[str, Any]) -> tuple[Version, int]:
        """Add ``item`` to the served model and the database; returns the version and index.

        Raises:
            RequestError: 409 for an existing id or a model that cannot rank new items.
        """
        from ssl4rec.models.catalog import cannot_add_items, with_items

        with self._write:
            model = self.current.service.model
            if item in self.current.service.item_vocab:
                raise RequestError(409, "item", f"item {item!r} already exists")
            reason = cannot_add_items(model)
            if reason is not None:
                raise RequestError(409, "item", reason)
            encoder = self._encoder(model)
            vector = np.asarray(encoder.encode([text]), dtype=np.float32)  # (1, t)
            new = with_items(model, [item], vector, [fields])
            self.catalog.add(
                AddedItem(
                    item=item,
                    text=text,
                    fields=fields,
                    encoder=str(encoder.name),
                    vector=vector[0],
                    created_at=time.time(),
                )
            )
            version = self._install(new, f"item {item}")
        self.metrics.items.inc()
        return version, version.service.item_vocab.index(item)

    def _encoder(self, model: Any) -> Any:
        if self.encoder is None:
            from ssl4rec.text.sentence_transformers import SentenceTransformerEncoder

            self.encoder = SentenceTransformerEncoder(model.config.text_encoder)
        return self.encoder

    def _restore_items(self) -> None:
        """Re-add the items stored by earlier runs that the loaded model lacks."""
        from ssl4rec.models.catalog import cannot_add_items, text_width, with_items

        added = [a for a in self.catalog.all() if a.item not in self.current.service.item_vocab]
        if not added:
            return
        model = self.current.service.model
        reason = cannot_add_items(model)
        if reason is not None:
            logger.warning("%d stored item(s) not served: %s", len(added), reason)
            return
        width = text_width(model)
        vectors = []
        for a in added:
            if len(a.vector) == width and (self.encoder is None or a.encoder == self.encoder.name):
                vectors.append(a.vector)
            else:
                vectors.append(np.asarray(self._encoder(model).encode([a.text]))[0])
        new = with_items(
            model, [a.item for a in added], np.stack(vectors), [a.fields for a in added]
        )
        with self._write:
            self._install(new, f"{len(added)} stored item(s)")

    # ------------------------------------------------------------------ updates
    def run_update(self) -> UpdateResult:
        """One online update from the events stored since the last one; swaps if accepted."""
        start = time.perf_counter()
        try:
            result = self._update()
        except Exception:
            self.metrics.updates.labels("failed").inc()
            logger.exception("online update failed; the served model is unchanged")
            raise
        outcome = (
            "skipped" if result.model is None else "accepted" if result.accepted else "rejected"
        )
        self.metrics.updates.labels(outcome).inc()
        self.metrics.update_seconds.observe(time.perf_counter() - start)
        self.last_update = {"outcome": outcome, **result.to_dict()}
        return result

    def _update(self) -> UpdateResult:
        base = self.current
        backend = base.service.model.backend
        if backend != "torch":
            raise RequestError(
                409,
                "model",
                f"the model is served through {backend} (serve --backend {backend}), whose "
                "exported graph cannot be trained; serve the torch backend to update it",
            )
        rows = stored_events(self.store)
        new = [(u, i, t) for n, u, i, t in rows if n > base.last_event_id]
        old = [(u, i, t) for n, u, i, t in rows if n <= base.last_event_id]
        seen = max((r[0] for r in rows), default=base.last_event_id)
        result = update_model(base.service.model, new, old_events=old, config=self.live.update)
        if result.model is None:
            logger.info("online update: %s", result.reason)
            return result
        with self._write:
            if not result.accepted:
                logger.warning("online update kept aside: %s", result.reason)
                if self.live.versions_dir is not None:
                    self._save(result.model, f"rejected/{int(time.time())}", None, result)
                return result
            if self.current is not base:  # items were added meanwhile: add them to the update
                result.model = _with_missing_items(result.model, self.current.service.model)
            version = self._install(result.model, "update", last_event_id=seen, save=True)
            if version.path is not None:
                write_update_json(Path(version.path), result, seen)
        return result

    def start(self) -> None:
        """Run ``run_update`` every ``update_every_s`` seconds in a daemon thread."""
        if self.live.update_every_s is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="ssl4rec-updates", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the schedule (an update already running finishes)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _loop(self) -> None:
        assert self.live.update_every_s is not None
        while not self._stop.wait(self.live.update_every_s):
            try:
                self.run_update()
            except Exception as err:  # noqa: BLE001 - the schedule keeps running
                logger.warning(
                    "scheduled update failed (%s); next try in %g s", err, self.live.update_every_s
                )

    # ------------------------------------------------------------------ disk
    def _save(
        self, model: Any, name: str, version: Version | None, result: UpdateResult | None = None
    ) -> Path:
        assert self.live.versions_dir is not None
        path = Path(self.live.versions_dir) / name
        model.save(path)
        if result is not None:
            write_update_json(path, result, None)
        return path

    def _prune_disk(self) -> None:
        if self.live.versions_dir is None:
            return
        keep = {Path(v.path).name for v in self.versions if v.path is not None}
        for folder in sorted(Path(self.live.versions_dir).glob("v[0-9]*")):
            if folder.is_dir() and folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)


def _with_missing_items(model: Any, served: Any) -> Any:
    """``model`` plus the items ``served`` has and it lacks (added during an update)."""
    from ssl4rec.models.catalog import with_items

    missing = [i for i in served.item_vocab.to_list() if i not in model.item_vocab]
    if not missing:
        return model
    idx = served.item_vocab.indices(missing)
    vectors = served.net.items.text[idx].cpu().numpy()
    table = served.item_table
    fields = [table.row(int(i), named=True) for i in idx] if table is not None else None
    return with_items(model, missing, vectors, fields)


def read_last_event_id(model_dir: Path | None) -> int:
    """The last stored event id an update of this model has seen (``update.json``), else 0."""
    if model_dir is None:
        return 0
    for path in (model_dir / "update.json", model_dir.parent / "update.json"):
        if path.is_file():
            try:
                return int(json.loads(path.read_text(encoding="utf-8")).get("last_event_id", 0))
            except (OSError, ValueError, AttributeError):
                logger.warning("cannot read %s; all stored events count as new", path)
    return 0


def write_update_json(path: Path, result: UpdateResult, last_event_id: int | None) -> None:
    """Write ``path/update.json``: the update's result and the last event id it read."""
    data = {**result.to_dict(), "last_event_id": last_event_id, "written_at": time.time()}
    (path / "update.json").write_text(json.dumps(data, indent=2), encoding="utf-8")


# ---------------------------------------------------------------------- ASGI middleware
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class VersionHeader:
    """Pins one model version per request, names it in ``X-Model-Version``, and counts it.

    The version's service goes into the request state (``request.state.service``),
    which ``routes.get_service`` reads before ``app.state.service``; so a request
    finishes on the model it started with even if a swap happens meanwhile.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        live: LiveState | None = getattr(scope["app"].state, "live", None)
        if live is None:
            await self.app(scope, receive, send)
            return
        version = live.current
        scope.setdefault("state", {})["service"] = version.service
        header = str(version.number).encode()
        status = 500
        start = time.perf_counter()

        async def send_with_version(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-model-version", header)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_version)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            live.metrics.requests.labels(method, path, str(status)).inc()
            live.metrics.latency.labels(method, path).observe(time.perf_counter() - start)
