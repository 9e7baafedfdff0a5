"""Fixtures of the serving tests: tiny fitted models with titles, apps over temp stores."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import polars as pl

import pytest

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.ease import EASE
from ssl4rec.models.item_knn import ItemKNN
from ssl4rec.models.pop import Pop
from ssl4rec.models.sasrec import SASRec, SASRecConfig
from ssl4rec.serving.app import create_app
from ssl4rec.serving.settings import ServeSettings
from ssl4rec.testing.synthetic import TINY_SEQUENTIAL, cycle_data

NUM_USERS = 30
NUM_ITEMS = 20


def tiny_interactions() -> Interactions:
    """Two taste groups: users u0-u14 consume items i0-i9, users u15-u29 items i10-i19."""
    rng = np.random.default_rng(0)
    users, items, stamps = [], [], []
    for u in range(NUM_USERS):
        group = 0 if u < NUM_USERS // 2 else 10
        for t, i in enumerate(rng.choice(10, size=5, replace=False) + group):
            users.append(f"u{u}")
            items.append(f"i{i}")
            stamps.append(1000 * u + t)
    frame = pl.DataFrame({"user_id": users, "item_id": items, "timestamp": stamps})
    table = pl.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(NUM_ITEMS)],
            "title": [f"Movie {i} ({'drama' if i < 10 else 'comedy'})" for i in range(NUM_ITEMS)],
        }
    )
    return Interactions.from_frame(frame, time_col="timestamp", item_table=table, name="tiny")


@pytest.fixture(scope="session")
def tiny_data() -> Interactions:
    return tiny_interactions()


@pytest.fixture(scope="session")
def ease_model(tiny_data: Interactions) -> EASE:
    return EASE(l2_reg=1.0).fit(tiny_data)


@pytest.fixture(scope="session")
def knn_model(tiny_data: Interactions) -> ItemKNN:
    return ItemKNN(num_neighbors=10).fit(tiny_data)


@pytest.fixture(scope="session")
def pop_model(tiny_data: Interactions) -> Pop:
    return Pop().fit(tiny_data)


@pytest.fixture(scope="session")
def sasrec_model() -> SASRec:
    """Two attention blocks of two heads on the planted item cycle (items carry titles)."""
    config = SASRecConfig(**{**TINY_SEQUENTIAL, "num_layers": 2}, epochs=3)  # type: ignore[arg-type]
    return SASRec(config).fit(cycle_data())


@pytest.fixture
def settings(tmp_path) -> ServeSettings:
    return ServeSettings(db=str(tmp_path / "events.sqlite"))


@pytest.fixture
def client(ease_model: EASE, settings: ServeSettings) -> Iterator:
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings, model=ease_model)) as c:
        yield c


@pytest.fixture
def live_server() -> object:
    """``live_server(app)``: a context manager running ``app`` on loopback, giving its URL."""
    return _live_server


@contextmanager
def _live_server(app: object) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port; yield its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(200):  # wait for startup, bounded
            if server.started:
                break
            time.sleep(0.05)
        assert server.started, "server did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
