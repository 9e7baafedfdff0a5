"""Privacy in serving: private model folders, DELETE /users, SQLCipher store, HTTPS."""

from __future__ import annotations

import datetime
import ipaddress
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
from typer.testing import CliRunner

import pytest

from ssl4rec.cli.main import app as cli
from ssl4rec.errors import ConfigError
from ssl4rec.models.base import load_model
from ssl4rec.models.mult_vae import MultVAE
from ssl4rec.privacy.config import PrivacyConfig
from ssl4rec.serving.app import create_app
from ssl4rec.serving.settings import ServeSettings
from ssl4rec.serving.store import EventRecord, EventStore

KEY = bytes(range(32))
HEADERS = {"X-API-Key": "s3cret"}


@pytest.fixture
def keyed_client(tiny_data, tmp_path) -> Iterator:
    """A server with an API key over its own model (deleting changes the model's memory)."""
    from fastapi.testclient import TestClient

    from ssl4rec.models.ease import EASE

    settings = ServeSettings(db=str(tmp_path / "events.sqlite"), api_key="s3cret")
    with TestClient(create_app(settings, model=EASE(l2_reg=1.0).fit(tiny_data))) as c:
        yield c


def test_delete_removes_events_and_the_next_answer_is_the_fallback(keyed_client, caplog) -> None:
    c = keyed_client
    c.post("/events", json={"user": "u0", "item": "i12", "timestamp": 10**9}, headers=HEADERS)
    assert c.get("/users/u0/recommendations").json()["fallback"] is None
    assert c.delete("/users/u0").status_code == 401
    assert c.delete("/users/u0", headers={"X-API-Key": "wrong"}).status_code == 403
    with caplog.at_level("INFO", logger="ssl4rec.serving.service"):
        body = c.delete("/users/u0", headers=HEADERS).json()
    assert body == {"user": "u0", "events_deleted": 1, "training_history_deleted": True}
    after = c.get("/users/u0/recommendations").json()
    assert after["fallback"] == "popularity" and after["history_length"] == 0
    assert c.get("/users/u0/history").json()["events"] == []
    logged = " ".join(r.getMessage() for r in caplog.records if "deleted" in r.getMessage())
    assert "events=1" in logged and "u0" not in logged and "i12" not in logged
    assert c.get("/users/u1/recommendations").json()["fallback"] is None  # others unchanged


def test_delete_needs_a_server_with_an_api_key(client) -> None:
    r = client.delete("/users/u0")
    assert r.status_code == 403 and "API key" in r.text
    assert client.get("/users/u0/recommendations").json()["fallback"] is None


def test_a_private_model_reads_histories_from_the_event_store_only(tiny_data, tmp_path) -> None:
    from fastapi.testclient import TestClient

    model = MultVAE(hidden_dims=(8,), embedding_dim=4, epochs=1, batch_size=8, seed=0)
    model.fit(tiny_data, privacy=PrivacyConfig(target_epsilon=8.0, accountant="rdp"))
    folder = model.save(tmp_path / "model")
    assert not (folder / "history.safetensors").exists()
    settings = ServeSettings(db=str(tmp_path / "events.sqlite"), model_dir=str(folder))
    with TestClient(create_app(settings)) as c:
        info = c.get("/model-info").json()
        assert info["privacy"]["unit"] == "user" and 0 < info["privacy"]["epsilon"] <= 8.0
        assert info["meta"]["privacy"] == info["privacy"]
        before = c.get("/users/u0/recommendations").json()
        assert before["fallback"] == "popularity" and before["history_length"] == 0
        c.post("/events", json={"user": "u0", "item": "i3", "timestamp": 1})
        after = c.get("/users/u0/recommendations").json()
        assert after["fallback"] is None and after["history_length"] == 1


def test_sqlcipher_store_is_unreadable_without_its_key(tmp_path) -> None:
    path = tmp_path / "events.db"
    store = EventStore(f"sqlite:///{path}", key=KEY)
    store.add([EventRecord("u1", "i1", 1)])
    store.close()
    assert b"SQLite format 3" not in path.read_bytes()[:16]
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        sqlite3.connect(path).execute("SELECT * FROM sqlite_master").fetchall()
    with pytest.raises(ConfigError, match="with this key: a wrong key"):
        EventStore(f"sqlite:///{path}", key=bytes(32))
    with pytest.raises(ConfigError, match="needs its key"):
        EventStore(f"sqlite:///{path}")
    again = EventStore(f"sqlite:///{path}", key=KEY)
    assert again.user_items("u1", limit=5) == ["i1"]
    again.close()


def test_serve_with_a_wrong_db_key_fails_at_startup(ease_model, tmp_path) -> None:
    folder = ease_model.save(tmp_path / "m")
    db = tmp_path / "events.db"
    EventStore(f"sqlite:///{db}", key=KEY).close()
    wrong = tmp_path / "wrong.key"
    wrong.write_text(bytes(32).hex())
    result = CliRunner().invoke(
        cli, ["serve", "--model", str(folder), "--db", str(db), "--db-key-file", str(wrong)]
    )
    assert result.exit_code != 0 and "wrong key" in str(result.exception)
    empty = tmp_path / "empty.key"
    empty.write_text("")
    result = CliRunner().invoke(cli, ["serve", "--model", str(folder), "--db-key-file", str(empty)])
    assert "empty.key: the key is empty" in str(result.exception)


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_https_round_trip_with_a_self_signed_certificate(ease_model, tmp_path) -> None:
    import socket
    import threading
    import time

    import uvicorn

    cert, key = _self_signed(tmp_path)
    app = create_app(ServeSettings(db=":memory:"), model=ease_model)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="error", ssl_certfile=str(cert), ssl_keyfile=str(key), lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        assert server.started
        url = f"https://127.0.0.1:{port}/health"
        assert httpx.get(url, verify=str(cert)).json()["status"] == "ok"
        with pytest.raises(httpx.ConnectError):  # TLS is real: an untrusted certificate fails
            httpx.get(url, verify=True)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_serve_tls_flags_go_together(ease_model, tmp_path) -> None:
    folder = ease_model.save(tmp_path / "m")
    result = CliRunner().invoke(cli, ["serve", "--model", str(folder), "--ssl-certfile", "c.pem"])
    assert "--ssl-certfile and --ssl-keyfile go together" in str(result.exception)


def test_forget_command_clears_the_run_folder_and_the_store(ease_model, tmp_path) -> None:
    folder = ease_model.save(tmp_path / "m")
    db = tmp_path / "events.sqlite"
    store = EventStore(f"sqlite:///{db}")
    store.add([EventRecord("u2", "i1", 1), EventRecord("u3", "i1", 1)])
    store.close()
    result = CliRunner().invoke(cli, ["forget", str(folder), "--user", "u2", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "removed 5 training events" in result.output and "removed 1 events" in result.output
    assert "until it is retrained" in result.output
    assert load_model(folder).history.sequence(ease_model.user_vocab.index("u2")).size == 0
    store = EventStore(f"sqlite:///{db}")
    assert store.count() == 1
    store.close()
