"""API tests against the real app (TestClient), with tiny fitted models."""

from __future__ import annotations

import numpy as np

import pytest

from ssl4rec.serving.app import create_app
from ssl4rec.serving.settings import ServeSettings


def _ids(body: dict) -> list[str]:
    return [row["item"] for row in body["items"]]


def test_health_and_model_info(client) -> None:
    assert client.get("/health").json() == {"status": "ok", "model_loaded": True, "model": "ease"}
    info = client.get("/model-info").json()
    assert info["name"] == "ease" and info["config"]["l2_reg"] == 1.0
    assert info["num_items"] == 20 and info["retrieval"] == "exact"
    assert info["explanation_methods"][0] == info["explanation_method"] == "item-weights"
    assert info["attention"] is None
    assert client.get("/models").json()["models"][0]["name"] == "ease"


def test_user_recommendations_match_the_model(client, ease_model) -> None:
    body = client.get("/users/u0/recommendations", params={"k": 5}).json()
    expected = ease_model.recommend("u0", 5)
    assert _ids(body) == list(expected.items[0])
    assert np.allclose([r["score"] for r in body["items"]], expected.scores[0], atol=1e-5)
    assert body["fallback"] is None and body["history_length"] == 5
    assert all(r["title"].startswith("Movie ") for r in body["items"])


def test_exclude_seen_and_explanations(client, ease_model) -> None:
    seen = set(ease_model.item_vocab.raw(ease_model.history.sequence(0)))
    body = client.get("/users/u0/recommendations", params={"k": 20, "explain": True}).json()
    assert not seen & set(_ids(body))
    assert len(body["items"]) == 20 - len(seen)
    top = body["items"][0]
    assert top["because"] and all(r["item"] in seen and r["weight"] > 0 for r in top["because"])
    everything = client.get("/users/u0/recommendations", params={"k": 20, "exclude_seen": False})
    assert len(everything.json()["items"]) == 20


def test_explanation_endpoint(client) -> None:
    body = client.get("/users/u0/recommendations/i5/explanation").json()
    assert body["method"] == "item-weights" and body["title"] == "Movie 5 (drama)"
    weights = [r["weight"] for r in body["because"]]
    assert weights == sorted(weights, reverse=True) and weights[0] > 0
    assert [w["position"] for w in body["weights"]] == list(range(5))  # every history event
    assert body["sentence"]
    unknown = client.get("/users/nobody/recommendations/i5/explanation").json()
    assert unknown["fallback"] == "popularity" and unknown["because"] == []
    assert unknown["weights"] == [] and unknown["method"] == "popularity"


def test_unknown_user_gets_labelled_popularity(client, tiny_data) -> None:
    body = client.get("/users/nobody/recommendations", params={"k": 3}).json()
    assert body["fallback"] == "popularity" and body["retrieval"] == "popularity"
    counts = np.bincount(tiny_data.items, minlength=20)
    assert [r["score"] for r in body["items"]] == sorted(counts, reverse=True)[:3]


def test_event_changes_next_recommendation_without_retraining(client) -> None:
    before = client.get("/users/u0/recommendations", params={"k": 20}).json()
    comedy = "i12"  # u0 is in the drama group; a comedy event folds in
    assert comedy in _ids(before)
    r = client.post("/events", json={"user": "u0", "item": comedy, "timestamp": 10**9})
    assert r.status_code == 201 and r.json()["id"] >= 1
    after = client.get("/users/u0/recommendations", params={"k": 20}).json()
    assert comedy not in _ids(after)  # now seen
    assert after["history_length"] == before["history_length"] + 1
    assert _ids(after) != [i for i in _ids(before) if i != comedy]  # comedies moved up
    history = client.get("/users/u0/history").json()
    assert history["events"][-1]["item"] == comedy


def test_new_user_created_by_events_is_folded_in(client) -> None:
    for item in ("i11", "i12"):
        assert client.post("/events", json={"user": "fresh", "item": item}).status_code == 201
    body = client.get("/users/fresh/recommendations", params={"k": 3, "explain": True}).json()
    assert body["fallback"] is None and body["history_length"] == 2
    assert all(int(i[1:]) >= 10 for i in _ids(body))  # the comedy group
    assert body["items"][0]["because"]
    assert "fresh" in client.get("/users").json()["recent"]


def test_session_recommendations(client, ease_model) -> None:
    body = client.post("/recommendations", json={"items": ["i11", "i13"], "k": 4}).json()
    assert body["user"] is None and body["history_length"] == 2
    assert _ids(body) == list(ease_model.recommend_history(["i11", "i13"], 4).items[0])
    empty = client.post("/recommendations", json={"items": [], "k": 2}).json()
    assert empty["fallback"] == "popularity" and len(empty["items"]) == 2


def test_items_search_detail_and_similar(client) -> None:
    found = client.get("/items", params={"query": "COMEDY", "limit": 50}).json()["items"]
    assert len(found) == 10 and all("comedy" in r["title"] for r in found)
    pops = [r["popularity"] for r in found]
    assert pops == sorted(pops, reverse=True)
    assert client.get("/items", params={"query": "zzz"}).json() == {"items": []}
    assert client.get("/items/i3").json()["fields"] == {"title": "Movie 3 (drama)"}
    sim = client.get("/items/i3/similar", params={"k": 3}).json()
    assert sim["method"] == "single-item-scores" and "i3" not in _ids(sim)
    assert all(int(i[1:]) < 10 for i in _ids(sim))


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "field"),
    [
        ("get", "/users/u0/recommendations", {"params": {"k": 0}}, 422, "k"),
        ("get", "/users/u0/recommendations", {"params": {"k": -3}}, 422, "k"),
        ("get", "/users/u0/recommendations", {"params": {"k": 10**9}}, 422, "k"),
        ("get", "/users/u0/recommendations", {"params": {"k": "ten"}}, 422, "k"),
        ("get", "/items/nope/similar", {}, 404, "item"),
        ("get", "/items/nope", {}, 404, "item"),
        ("get", "/users/u0/recommendations/nope/explanation", {}, 404, "item"),
        (
            "get",
            "/users/u0/recommendations/i1/explanation",
            {"params": {"method": "x"}},
            422,
            "method",
        ),
        ("get", "/users/u0/recommendations", {"params": {"method": "x"}}, 422, "method"),
        (
            "post",
            "/explanations",
            {"json": {"items": ["i1", "nope"], "item": "i2"}},
            404,
            "items[1]",
        ),
        ("post", "/explanations", {"json": {"items": ["i1"], "item": "nope"}}, 404, "item"),
        ("post", "/explanations", {"json": {"items": ["i1"] * 2001, "item": "i2"}}, 422, "items"),
        ("post", "/explanations", {"json": {"items": ["i1"], "item": "i2", "top": 0}}, 422, "top"),
        ("get", "/users/u0/attention", {}, 422, "model"),
        ("get", "/users/u0/attention", {"params": {"layer": -1}}, 422, "layer"),
        ("post", "/attention", {"json": {"items": ["i1"], "head": -1}}, 422, "head"),
        ("post", "/recommendations", {"json": {"items": ["i1", "nope"]}}, 404, "items[1]"),
        ("post", "/recommendations", {"json": {"items": "i1"}}, 422, "items"),
        ("post", "/recommendations", {"json": {"items": ["i1"], "k": 0}}, 422, "k"),
        ("post", "/recommendations", {"json": {"items": ["i1"], "kk": 3}}, 422, "kk"),
        ("post", "/recommendations", {"json": {"items": ["i1"] * 2001}}, 422, "items"),
        ("post", "/events", {"json": {"user": "u0", "item": "nope"}}, 404, "item"),
        ("post", "/events", {"json": {"user": "u0"}}, 422, "item"),
        ("post", "/events", {"json": {"user": "", "item": "i1"}}, 422, "user"),
        ("post", "/events", {"json": {"user": "u0", "item": "i1", "weight": -1}}, 422, "weight"),
        (
            "post",
            "/events",
            {"json": {"user": "u0", "item": "i1", "timestamp": -5}},
            422,
            "timestamp",
        ),
        (
            "post",
            "/events/batch",
            {"json": {"events": [{"user": "u0", "item": "i1"}, {"user": "u0", "item": "x"}]}},
            404,
            "events[1].item",
        ),
        ("post", "/events/batch", {"json": {"events": []}}, 422, "events"),
    ],
)
def test_bad_input_gets_json_error_naming_the_field(client, method, path, kwargs, status, field):
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["field"] == field
    assert client.get("/health").status_code == 200  # still serving


def test_malformed_json_and_unknown_route(client) -> None:
    r = client.post(
        "/recommendations", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["field"] == "body"
    r = client.get("/no/such/route")
    assert r.status_code == 404 and r.json()["detail"] == "Not Found"


def test_failed_batch_stores_nothing(client) -> None:
    bad = {"events": [{"user": "b", "item": "i1"}, {"user": "b", "item": "nope"}]}
    assert client.post("/events/batch", json=bad).status_code == 404
    assert client.get("/users/b/history").json()["events"] == []
    good = {"events": [{"user": "b", "item": "i1"}, {"user": "b", "item": "i2"}]}
    stored = client.post("/events/batch", json=good).json()["events"]
    assert [e["item"] for e in stored] == ["i1", "i2"]


def test_event_id_makes_retries_idempotent(client) -> None:
    event = {"user": "r", "item": "i4", "event_id": "abc-1"}
    first = client.post("/events", json=event).json()
    again = client.post("/events", json=event).json()
    assert again["id"] == first["id"] and again["duplicate"] and not first["duplicate"]
    assert len(client.get("/users/r/history").json()["events"]) == 1


def test_no_model_gives_503(settings) -> None:
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings)) as c:
        for path in ("/health", "/model-info", "/users/u0/recommendations", "/items"):
            r = c.get(path)
            assert r.status_code == 503 and r.json() == {
                "detail": "model not loaded",
                "field": "model",
            }
        assert c.post("/events", json={"user": "u", "item": "i"}).status_code == 503


def test_api_key_on_write_endpoints(ease_model, tmp_path) -> None:
    from fastapi.testclient import TestClient

    settings = ServeSettings(db=str(tmp_path / "e.sqlite"), api_key="s3cret")
    event = {"user": "u0", "item": "i1"}
    with TestClient(create_app(settings, model=ease_model)) as c:
        r = c.post("/events", json=event)
        assert r.status_code == 401 and r.json()["field"] == "X-API-Key"
        r = c.post("/events", json=event, headers={"X-API-Key": "wrong"})
        assert r.status_code == 403 and r.json()["field"] == "X-API-Key"
        assert c.post("/events", json=event, headers={"X-API-Key": "s3cret"}).status_code == 201
        assert c.get("/users/u0/recommendations").status_code == 200  # reads stay open
        assert c.post("/recommendations", json={"items": ["i1"]}).status_code == 200


def test_cors_is_off_by_default_and_configurable(ease_model, tmp_path) -> None:
    from fastapi.testclient import TestClient

    origin = {"Origin": "http://shop.example"}
    with TestClient(create_app(ServeSettings(db=":memory:"), model=ease_model)) as c:
        assert "access-control-allow-origin" not in c.get("/health", headers=origin).headers
    settings = ServeSettings(db=":memory:", cors_origins=("http://shop.example",))
    with TestClient(create_app(settings, model=ease_model)) as c:
        headers = c.get("/health", headers=origin).headers
        assert headers["access-control-allow-origin"] == "http://shop.example"


@pytest.mark.parametrize("model_fixture", ["knn_model", "pop_model"])
def test_other_models(request, model_fixture, settings) -> None:
    from fastapi.testclient import TestClient

    model = request.getfixturevalue(model_fixture)
    with TestClient(create_app(settings, model=model)) as c:
        body = c.get("/users/u3/recommendations", params={"k": 5, "explain": True}).json()
        expected = model.recommend("u3", 5).scores[0]  # equal scores may tie-break differently
        assert np.allclose([r["score"] for r in body["items"]], expected, atol=1e-5)
        expl = c.get(f"/users/u3/recommendations/{body['items'][0]['item']}/explanation").json()
        methods = c.get("/model-info").json()["explanation_methods"]
        assert expl["method"] == methods[0] and len(expl["weights"]) == 5
        if model_fixture == "knn_model":
            assert expl["because"]
        else:  # history does not move popularity scores
            assert expl["because"] == [] and all(w["weight"] == 0 for w in expl["weights"])
        assert c.post("/events", json={"user": "u3", "item": "i15"}).status_code == 201
        after = c.get("/users/u3/recommendations", params={"k": 20}).json()
        assert "i15" not in _ids(after)


def test_served_from_saved_folder(ease_model, tmp_path) -> None:
    from fastapi.testclient import TestClient

    run = tmp_path / "run"
    ease_model.save(run / "model")
    (run / "metrics.json").write_text('{"ndcg@10": 0.5}')
    settings = ServeSettings(model_dir=str(run), db=str(tmp_path / "e.sqlite"))
    with TestClient(create_app(settings)) as c:
        info = c.get("/model-info").json()
        assert info["metrics"] == {"ndcg@10": 0.5} and info["meta"]["model"] == "ease"
        assert c.get("/users/u0/recommendations").json()["items"][0]["title"]


def test_missing_or_corrupt_model_fails_at_start_naming_the_file(ease_model, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from ssl4rec.errors import DataError

    with (
        pytest.raises(DataError, match="nowhere"),
        TestClient(create_app(ServeSettings(model_dir=str(tmp_path / "nowhere"), db=":memory:"))),
    ):
        pass
    folder = ease_model.save(tmp_path / "m")
    (folder / "weights.safetensors").write_bytes(b"garbage")
    with (
        pytest.raises(DataError, match="safetensors|tensors"),
        TestClient(create_app(ServeSettings(model_dir=str(folder), db=":memory:"))),
    ):
        pass
