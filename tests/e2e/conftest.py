"""Live ssl4rec services on 127.0.0.1 (uvicorn in a thread) for browser tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import numpy as np
import polars as pl

import pytest

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.ease import EASE
from ssl4rec.models.sasrec import SASRec, SASRecConfig
from ssl4rec.serving.app import create_app
from ssl4rec.serving.settings import ServeSettings
from ssl4rec.testing.synthetic import TINY_SEQUENTIAL, cycle_data


def _tiny_model() -> EASE:
    """EASE on two taste groups (u0-u14: items i0-i9, u15-u29: items i10-i19)."""
    rng = np.random.default_rng(0)
    rows = []
    for u in range(30):
        group = 0 if u < 15 else 10
        for t, i in enumerate(rng.choice(10, size=5, replace=False) + group):
            rows.append((f"u{u}", f"i{i}", 1000 * u + t))
    frame = pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")
    titles = pl.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(20)],
            "title": [f"Movie {i} ({'drama' if i < 10 else 'comedy'})" for i in range(20)],
        }
    )
    data = Interactions.from_frame(frame, time_col="timestamp", item_table=titles)
    return EASE(l2_reg=1.0).fit(data)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tiny_sasrec() -> SASRec:
    """SASRec with two blocks of two heads on the planted item cycle ("movie number i")."""
    config = SASRecConfig(**{**TINY_SEQUENTIAL, "num_layers": 2}, epochs=3)  # type: ignore[arg-type]
    return SASRec(config).fit(cycle_data(num_items=20))


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[str]:
    """URL of a running service with a tiny fitted EASE model."""
    db = tmp_path_factory.mktemp("e2e") / "events.sqlite"
    yield from _serve(create_app(ServeSettings(db=str(db)), model=_tiny_model()))


@pytest.fixture(scope="session")
def sasrec_server(tmp_path_factory) -> Iterator[str]:
    """URL of a running service with a tiny fitted SASRec (attention maps, several methods)."""
    db = tmp_path_factory.mktemp("e2e-sasrec") / "events.sqlite"
    yield from _serve(create_app(ServeSettings(db=str(db)), model=_tiny_sasrec()))


@pytest.fixture(scope="session")
def cases_server(tmp_path_factory) -> Iterator[str]:
    """URL of two cases behind one server (``/cases/drama/``, ``/cases/comedy/``)."""
    from ssl4rec.serving.cases import CaseApp, create_cases_app
    from ssl4rec.serving.settings import CaseLink

    folder = tmp_path_factory.mktemp("e2e-cases")
    links = (
        CaseLink(name="drama", title="Drama case", question="What next for drama fans?"),
        CaseLink(name="comedy", title="Comedy case"),
    )
    model = _tiny_model()
    entries = [
        CaseApp(ServeSettings(db=str(folder / f"{c.name}.sqlite"), case=c, cases=links), model)
        for c in links
    ]
    yield from _serve(create_cases_app(entries))


def _serve(app: object) -> Iterator[str]:
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
