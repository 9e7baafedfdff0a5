"""Request limits: oversized bodies get 413 before parsing; errors quote input briefly."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from ssl4rec.serving.app import create_app
from ssl4rec.serving.limits import quote
from ssl4rec.serving.settings import ServeSettings


@pytest.fixture
def small_limit_client(ease_model):
    from fastapi.testclient import TestClient

    settings = ServeSettings(db=":memory:", max_body_bytes=4096)
    with TestClient(create_app(settings, model=ease_model)) as c:
        yield c


def test_declared_oversized_body_gets_413_naming_the_limit(small_limit_client) -> None:
    body = json.dumps({"items": ["i1"] * 5000}).encode()
    r = small_limit_client.post(
        "/recommendations", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["field"] == "body" and "at most 4096 bytes" in r.json()["detail"]


def test_chunked_oversized_body_gets_413(small_limit_client) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"items": ['
        for _ in range(2000):
            yield b'"i1", '
        yield b'"i1"]}'

    r = small_limit_client.post(
        "/recommendations", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["field"] == "body"


def test_a_body_within_the_limit_is_served(small_limit_client) -> None:
    r = small_limit_client.post("/recommendations", json={"items": ["i1", "i2"], "k": 3})
    assert r.status_code == 200 and len(r.json()["items"]) == 3


def test_unknown_id_is_quoted_briefly(client) -> None:
    long_id = "x" * 150
    r = client.post("/recommendations", json={"items": [long_id]})
    assert r.status_code == 404
    detail = r.json()["detail"]
    assert len(detail) < 160 and "(152 characters)" in detail
    assert quote("abc") == "'abc'"


def test_5mb_upload_gets_413_before_it_is_sent_and_health_stays_up(
    ease_model, live_server
) -> None:
    """A real server: the 413 comes back while 99.9% of the body is still unsent."""
    app = create_app(ServeSettings(db=":memory:"), model=ease_model)  # default 1 MiB limit
    with live_server(app) as url:
        port = int(url.rsplit(":", 1)[1])
        upload = socket.create_connection(("127.0.0.1", port), timeout=10)
        head = (
            "POST /recommendations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: 5000000\r\n\r\n"
        )
        upload.sendall(head.encode() + b'{"items": ["i1", ')  # the rest is never sent
        reply = upload.recv(4096).decode()
        assert reply.startswith("HTTP/1.1 413")
        health = socket.create_connection(("127.0.0.1", port), timeout=10)
        health.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert health.recv(4096).decode().startswith("HTTP/1.1 200")
        health.close()
        upload.close()


def test_api_key_comes_from_a_file_or_the_environment(tmp_path) -> None:
    from ssl4rec.errors import ConfigError
    from ssl4rec.serving.settings import read_api_key

    key_file = tmp_path / "key"
    key_file.write_text("s3cret\n")
    assert read_api_key(key_file, environ={"SSL4REC_API_KEY": "other"}) == "s3cret"
    assert read_api_key(None, environ={"SSL4REC_API_KEY": " env-key "}) == "env-key"
    assert read_api_key(None, environ={}) is None
    key_file.write_text("\n")
    with pytest.raises(ConfigError, match="first line"):
        read_api_key(key_file)
    with pytest.raises(ConfigError, match="cannot read"):
        read_api_key(tmp_path / "missing")


def test_open_writes_are_refused_off_loopback_and_warned_on_it() -> None:
    from ssl4rec.errors import ConfigError
    from ssl4rec.serving.settings import check_open_writes

    with pytest.raises(ConfigError, match="allow-open-writes"):
        check_open_writes("0.0.0.0", None, allow_open_writes=False)
    with pytest.raises(ConfigError, match="allow-open-writes"):
        check_open_writes("example.org", None, allow_open_writes=False)
    assert "no API key" in check_open_writes("0.0.0.0", None, allow_open_writes=True)
    assert "no API key" in check_open_writes("127.0.0.1", None, allow_open_writes=False)
    assert "no API key" in check_open_writes("::1", None, allow_open_writes=False)
    assert check_open_writes("0.0.0.0", "s3cret", allow_open_writes=False) is None
