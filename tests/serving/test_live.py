"""The live service: new items, versions and rollback, online updates, metrics."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl
from fastapi import Request
from fastapi.testclient import TestClient

import pytest

from ssl4rec.data.interactions import Interactions
from ssl4rec.models.sasrec import SASRec, SASRecConfig
from ssl4rec.runner.online import UpdateConfig
from ssl4rec.serving.app import create_app
from ssl4rec.serving.live import MAX_ITEM_TEXT, LiveSettings, parse_interval
from ssl4rec.serving.settings import ServeSettings
from ssl4rec.testing.fakes import HashTextEncoder
from ssl4rec.testing.synthetic import TINY_SEQUENTIAL, block_interactions
from ssl4rec.text.templates import item_texts

WORDS = ["amber", "basalt", "cobalt", "dune", "ember", "fjord", "glacier", "harbor"]
KEY = {"X-API-Key": "secret"}


def word_blocks() -> Interactions:
    """Eight taste groups of six items; an item's title names its group's word."""
    base = block_interactions(num_users=160, num_items=48, num_blocks=8)
    ids = base.item_vocab.to_list()
    table = pl.DataFrame(
        {"item_id": ids, "title": [f"{WORDS[int(i[1:]) % 8]} story {i}" for i in ids]}
    )
    return Interactions(
        users=base.users,
        items=base.items,
        weights=base.weights,
        timestamps=base.timestamps,
        user_vocab=base.user_vocab,
        item_vocab=base.item_vocab,
        item_table=table,
        name="word-blocks",
    )


@pytest.fixture(scope="module")
def text_model() -> SASRec:
    data = word_blocks()
    vectors = HashTextEncoder(32).encode(item_texts(data, "{title}"))
    config = SASRecConfig(**{**TINY_SEQUENTIAL, "epochs": 10}, item_repr="text")  # type: ignore[arg-type]
    return SASRec(config, item_text=vectors).fit(data)


def live_app(model: object, tmp_path, **live: object) -> object:
    settings = ServeSettings(db=str(tmp_path / "events.sqlite"), api_key="secret")
    app = create_app(settings, model=model)
    app.state.text_encoder = HashTextEncoder(32)  # type: ignore[attr-defined]
    app.state.live_settings = LiveSettings(**live)  # type: ignore[attr-defined, arg-type]
    return app


@pytest.fixture
def client(text_model: SASRec, tmp_path) -> Iterator[TestClient]:
    with TestClient(live_app(text_model, tmp_path)) as c:
        yield c


NEW = {"item": "new", "text": "cobalt story new", "attributes": {"year": 2024}}


def test_new_item_is_in_the_top_10_of_a_session_of_its_nearest_neighbours(client) -> None:
    assert client.get("/health").headers["x-model-version"] == "1"
    res = client.post("/items", json=NEW, headers=KEY)
    assert res.status_code == 201, res.text
    assert res.json()["version"] == 2 and res.json()["title"] == "cobalt story new"
    similar = client.get("/items/new/similar", params={"k": 5})
    assert similar.status_code == 200 and similar.headers["x-model-version"] == "2"
    neighbours = [r["item"] for r in similar.json()["items"]]
    # the text encoder puts the new "cobalt" item among the cobalt group (index ≡ 2 mod 8)
    assert all(int(i[1:]) % 8 == 2 for i in neighbours), neighbours
    recs = client.post("/recommendations", json={"items": neighbours, "k": 10}).json()
    assert "new" in [r["item"] for r in recs["items"]]
    found = client.get("/items", params={"query": "cobalt story new"}).json()["items"]
    assert [f["item"] for f in found] == ["new"]
    assert client.get("/model-info").json()["version"] == 2
    assert client.get("/model-info").json()["num_items"] == 49


def test_new_item_survives_a_restart(text_model, tmp_path) -> None:
    with TestClient(live_app(text_model, tmp_path)) as c:
        assert c.post("/items", json=NEW, headers=KEY).status_code == 201
        before = c.post("/recommendations", json={"items": ["i2", "i10"], "k": 48}).json()
    with TestClient(live_app(text_model, tmp_path)) as c:
        assert c.get("/items/new").status_code == 200
        assert c.get("/items/new").json()["fields"]["title"] == "cobalt story new"
        after = c.post("/recommendations", json={"items": ["i2", "i10"], "k": 48}).json()
    assert [r["item"] for r in after["items"]] == [r["item"] for r in before["items"]]


def test_bad_new_items(client) -> None:
    assert client.post("/items", json=NEW).status_code == 401
    assert client.post("/items", json=NEW, headers={"X-API-Key": "x"}).status_code == 403
    res = client.post("/items", json={**NEW, "item": "i3"}, headers=KEY)
    assert res.status_code == 409 and res.json()["field"] == "item"
    assert "already exists" in res.json()["detail"]
    for text in ("", "   \n"):
        res = client.post("/items", json={"item": "x", "text": text}, headers=KEY)
        assert res.status_code == 422 and res.json()["field"] == "text"
    long = "a" * (MAX_ITEM_TEXT + 1)
    res = client.post("/items", json={"item": "x", "text": long}, headers=KEY)
    assert res.status_code == 422 and res.json()["field"] == "text"
    assert client.get("/items/x").status_code == 404
    assert client.get("/health").headers["x-model-version"] == "1"


def test_id_only_model_refuses_new_items_with_the_reason(ease_model, tmp_path) -> None:
    with TestClient(live_app(ease_model, tmp_path)) as c:
        res = c.post("/items", json=NEW, headers=KEY)
    assert res.status_code == 409
    assert "cannot rank items unseen in training" in res.json()["detail"]


def test_rollback_serves_the_previous_version(client) -> None:
    assert client.post("/admin/rollback", headers=KEY).status_code == 409  # only one version
    assert client.post("/items", json=NEW, headers=KEY).status_code == 201
    res = client.post("/admin/rollback", headers=KEY)
    assert res.status_code == 200 and res.json()["source"] == "rollback to 1"
    assert res.json()["version"] == 3 and res.json()["num_items"] == 48
    assert client.get("/items/new").status_code == 404
    assert client.get("/health").headers["x-model-version"] == "3"
    assert [v["version"] for v in client.get("/admin/versions").json()] == [3]
    assert client.post("/admin/rollback", headers=KEY).status_code == 409  # nothing older
    assert client.post("/admin/rollback").status_code == 401


def test_update_through_the_api_and_metrics(client) -> None:
    res = client.post("/admin/update", headers=KEY)
    assert res.status_code == 200 and res.json()["outcome"] == "skipped"
    rng = np.random.default_rng(0)
    events = [
        {"user": f"n{u}", "item": f"i{int(i)}", "timestamp": 100 + 10 * u + t}
        for u in range(12)
        for t, i in enumerate(rng.choice(np.arange(u % 8, 48, 8), size=5, replace=False))
    ]
    assert client.post("/events/batch", json={"events": events}, headers=KEY).status_code == 201
    res = client.post("/admin/update", headers=KEY).json()
    assert res["outcome"] in ("accepted", "rejected") and res["num_events"] == 60
    assert res["num_holdout"] == 12 and res["new_metric"] is not None
    assert res["version"] == (2 if res["outcome"] == "accepted" else 1)
    again = client.post("/admin/update", headers=KEY).json()
    if res["outcome"] == "accepted":  # the events are used once
        assert again["outcome"] == "skipped"
    text = client.get("/metrics").text
    assert 'ssl4rec_requests_total{method="POST",route="/events/batch",status="201"} 1.0' in text
    assert "ssl4rec_events_stored 60.0" in text
    assert f"ssl4rec_model_version {float(res['version'])}" in text
    assert 'ssl4rec_updates_total{outcome="skipped"}' in text
    assert "ssl4rec_request_seconds_bucket" in text


def test_accepted_updates_are_saved_and_pruned(text_model, tmp_path) -> None:
    versions = tmp_path / "versions"
    app = live_app(
        text_model,
        tmp_path,
        versions_dir=str(versions),
        keep_versions=2,
        update=UpdateConfig(tolerance=1.0),  # accept every update
    )
    with TestClient(app) as c:
        for round_ in range(3):
            events = [
                {"user": f"r{round_}-{u}", "item": f"i{(u % 8) + 8 * t}", "timestamp": 10 * t}
                for u in range(6)
                for t in range(4)
            ]
            c.post("/events/batch", json={"events": events}, headers=KEY)
            assert c.post("/admin/update", headers=KEY).json()["outcome"] == "accepted"
        listed = c.get("/admin/versions").json()
    assert [v["version"] for v in listed] == [3, 4]
    assert sorted(p.name for p in versions.iterdir()) == ["v0003", "v0004"]
    assert (versions / "v0004" / "update.json").is_file()


def test_parse_interval() -> None:
    assert parse_interval("10m") == 600 and parse_interval("90s") == 90
    assert parse_interval("2h") == 7200 and parse_interval("5") == 5
    for bad in ("ten", "0m", "-1s"):
        with pytest.raises(ValueError, match="update-every"):
            parse_interval(bad)


def test_a_request_finishes_on_the_version_it_started_with(text_model, tmp_path) -> None:
    from ssl4rec.serving.routes import get_service

    app = live_app(text_model, tmp_path)

    @app.get("/_swap_midway")  # type: ignore[attr-defined, untyped-decorator]
    async def swap_midway(request: Request) -> dict[str, int]:
        live = request.app.state.live
        live.add_item("mid", "amber story mid", {"title": "amber story mid"})  # swaps to v2
        service = await get_service(request)
        return {"pinned_items": service.num_items, "current_items": live.current.service.num_items}

    with TestClient(app) as c:
        res = c.get("/_swap_midway")
        assert res.json() == {"pinned_items": 48, "current_items": 49}
        assert res.headers["x-model-version"] == "1"
        assert c.get("/health").headers["x-model-version"] == "2"


def test_scheduled_updates_run(text_model, tmp_path) -> None:
    import time

    with TestClient(live_app(text_model, tmp_path, update_every_s=0.05)) as c:
        deadline = time.time() + 10
        while 'ssl4rec_updates_total{outcome="skipped"}' not in c.get("/metrics").text:
            assert time.time() < deadline, "no scheduled update ran"
            time.sleep(0.05)
