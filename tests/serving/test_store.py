"""Event store: persistence across restarts, concurrent writers, idempotent ids."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.serving.app import create_app
from ssl4rec.serving.settings import ServeSettings
from ssl4rec.serving.store import EventRecord, EventStore


def test_events_survive_a_restart(ease_model, tmp_path) -> None:
    from fastapi.testclient import TestClient

    settings = ServeSettings(db=str(tmp_path / "events.sqlite"))
    with TestClient(create_app(settings, model=ease_model)) as c:
        before = c.get("/users/u0/recommendations", params={"k": 20}).json()
        for t, item in enumerate(("i12", "i13", "i14")):
            c.post("/events", json={"user": "u0", "item": item, "timestamp": 2_000_000 + t})
        c.post("/events", json={"user": "brand-new", "item": "i12"})
        after = c.get("/users/u0/recommendations", params={"k": 20}).json()
    assert after != before
    with TestClient(create_app(settings, model=ease_model)) as c:  # a new app, same file
        again = c.get("/users/u0/recommendations", params={"k": 20}).json()
        assert again == after
        events = c.get("/users/u0/history").json()["events"]
        assert [e["item"] for e in events] == ["i12", "i13", "i14"]
        assert c.get("/users/brand-new/recommendations").json()["fallback"] is None


def test_many_concurrent_writers_store_every_event_once(ease_model, tmp_path) -> None:
    from fastapi.testclient import TestClient

    settings = ServeSettings(db=str(tmp_path / "events.sqlite"))
    num_writers, per_writer = 16, 25
    with TestClient(create_app(settings, model=ease_model)) as c:

        def write(writer: int) -> list[int]:
            ids = []
            for n in range(per_writer):
                event = {
                    "user": f"w{writer}",
                    "item": f"i{n % 20}",
                    "timestamp": n,
                    "event_id": f"{writer}-{n}",
                }
                r = c.post("/events", json=event)
                assert r.status_code == 201, r.text
                ids.append(r.json()["id"])
            return ids

        with ThreadPoolExecutor(num_writers) as pool:
            results = list(pool.map(write, range(num_writers)))
        # a retry storm of the same events stores nothing new
        with ThreadPoolExecutor(8) as pool:
            dupes = list(pool.map(lambda w: write(w), range(4)))
    ids = [i for r in results for i in r]
    assert len(ids) == len(set(ids)) == num_writers * per_writer
    assert [i for r in dupes for i in r] == [i for r in results[:4] for i in r]
    store = EventStore(settings.db_url)
    assert store.count() == num_writers * per_writer
    for w in range(num_writers):
        assert store.user_items(f"w{w}", limit=1000) == [f"i{n % 20}" for n in range(per_writer)]
    store.close()


def test_store_orders_by_time_then_arrival(tmp_path) -> None:
    store = EventStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    store.add([EventRecord("u", "b", 5), EventRecord("u", "a", 1), EventRecord("u", "c", 5)])
    assert store.user_items("u", limit=10) == ["a", "b", "c"]
    assert store.user_items("u", limit=2) == ["b", "c"]  # the most recent two
    assert store.users() == ["u"] and store.count() == 3
    mode = store.engine.connect().exec_driver_sql("PRAGMA journal_mode").scalar()
    assert mode == "wal"
    store.close()


def test_memory_store_is_shared_across_threads() -> None:
    store = EventStore("sqlite://")
    threads = [
        threading.Thread(target=store.add, args=([EventRecord(f"u{i}", "x", i)],)) for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count() == 8


def test_bad_url_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="ServeSettings.db"):
        EventStore("nosuchdialect://x")


# ---------------------------------------------------------------------- PostgreSQL
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server (Debian ``postgresql``), or skip."""
    pytest.importorskip("psycopg", reason="psycopg not installed")
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bins:
        pytest.skip("PostgreSQL not installed (apt-get install postgresql)")
    bindir = bins[-1]
    # not under pytest's tmp_path: the postgres user must be able to reach the folder
    root = Path(tempfile.mkdtemp(prefix="ssl4rec-pg-"))
    data = root / "data"
    port = _free_port()
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a 'postgres' user")
        shutil.chown(root, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    init = subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "ssl4rec", "--auth=trust"],
        capture_output=True,
        text=True,
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr.strip()[-300:]}")
    server = subprocess.Popen(
        [
            *run_as,
            str(bindir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(data),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"postgresql+psycopg://ssl4rec@127.0.0.1:{port}/postgres"
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        server.kill()
        pytest.skip("PostgreSQL did not start")
    time.sleep(0.3)
    yield url
    server.terminate()
    server.wait(10)
    shutil.rmtree(root, ignore_errors=True)


def test_postgres_store(postgres_url, ease_model) -> None:
    from fastapi.testclient import TestClient

    settings = ServeSettings(db=postgres_url)
    with TestClient(create_app(settings, model=ease_model)) as c:

        def write(n: int) -> int:
            r = c.post("/events", json={"user": "pg", "item": f"i{n % 20}", "event_id": f"pg-{n}"})
            assert r.status_code == 201, r.text
            return r.json()["id"]

        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(write, range(80)))
        assert len(set(ids)) == 80
        assert write(3) == ids[3]  # idempotent retry
        assert c.get("/users/pg/recommendations").json()["fallback"] is None
    with TestClient(create_app(settings, model=ease_model)) as c:  # replica / restart
        assert len(c.get("/users/pg/history", params={"limit": 1000}).json()["events"]) == 80
