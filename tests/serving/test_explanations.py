"""Explanations through the API: every registered method, sessions, attention maps."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

import pytest

from ssl4rec.explain.base import explain, supported_methods
from ssl4rec.serving.app import create_app
from ssl4rec.serving.settings import ServeSettings


@pytest.fixture
def seq_client(sasrec_model, settings) -> Iterator:
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings, model=sasrec_model)) as c:
        yield c


def _weights(body: dict) -> list[float]:
    return [w["weight"] for w in body["weights"]]


def test_model_info_lists_the_supported_methods_default_first(client, seq_client) -> None:
    for c in (client, seq_client):
        info = c.get("/model-info").json()
        assert info["explanation_methods"] and len(set(info["explanation_methods"])) == len(
            info["explanation_methods"]
        )
        assert info["explanation_method"] == info["explanation_methods"][0]
    assert seq_client.get("/model-info").json()["attention"] == {"num_layers": 2, "num_heads": 2}


@pytest.mark.parametrize("model_fixture", ["ease_model", "sasrec_model"])
def test_every_method_gives_the_weights_of_explain(request, model_fixture, settings) -> None:
    """The endpoint reports ``ssl4rec.explain.explain`` for every position, per method."""
    from fastapi.testclient import TestClient

    model = request.getfixturevalue(model_fixture)
    user = "u0"
    history = model.history.sequence(model.user_vocab.index(user))
    with TestClient(create_app(settings, model=model)) as c:
        item = c.get(f"/users/{user}/recommendations", params={"k": 1}).json()["items"][0]["item"]
        index = model.item_vocab.index(item)
        for method in supported_methods(model):
            body = c.get(
                f"/users/{user}/recommendations/{item}/explanation", params={"method": method}
            ).json()
            expected = explain(model, history, [index], method=method)[0]
            assert body["method"] == method and body["item"] == item and body["sentence"]
            assert [w["item"] for w in body["weights"]] == list(model.item_vocab.raw(history))
            assert [w["position"] for w in body["weights"]] == list(range(len(history)))
            assert np.allclose(_weights(body), expected.weights, atol=1e-5)
            assert body["weights"][0]["title"]
            top = [(r["item"], r["weight"]) for r in body["because"]]
            assert [i for i, _ in top] == list(
                model.item_vocab.raw([i for i, _ in expected.top(10)])
            )
            if expected.tokens:
                assert [t["token"] for t in body["tokens"]] == [w for w, _ in expected.tokens]
            else:
                assert body["tokens"] is None


def test_unsupported_method_is_422_listing_the_supported_ones(client) -> None:
    r = client.get("/users/u0/recommendations/i5/explanation", params={"method": "nope"})
    assert r.status_code == 422 and r.json()["field"] == "method"
    for name in client.get("/model-info").json()["explanation_methods"]:
        assert repr(name) in r.json()["detail"]
    assert "'nope'" in r.json()["detail"]
    r = client.post("/recommendations", json={"items": ["i1"], "explain": True, "method": "nope"})
    assert r.status_code == 422 and r.json()["field"] == "method"


def test_explain_true_uses_the_default_or_the_given_method(seq_client) -> None:
    methods = seq_client.get("/model-info").json()["explanation_methods"]
    plain = seq_client.get("/users/u1/recommendations", params={"k": 3}).json()
    assert plain["explanation_method"] is None and plain["items"][0]["because"] is None
    for method in (None, *methods):
        params = {"k": 3, "explain": True} | ({"method": method} if method else {})
        body = seq_client.get("/users/u1/recommendations", params=params).json()
        assert body["explanation_method"] == (method or methods[0])
        assert all(isinstance(r["because"], list) for r in body["items"])
        # the reasons are the top of the endpoint's explanation for that item
        first = body["items"][0]
        expl = seq_client.get(
            f"/users/u1/recommendations/{first['item']}/explanation",
            params={"method": body["explanation_method"], "top": 3},
        ).json()
        assert first["because"] == expl["because"]


def test_session_explanation_equals_the_user_one(seq_client, sasrec_model) -> None:
    history = list(sasrec_model.item_vocab.raw(sasrec_model.history.sequence(0)))
    user = str(sasrec_model.user_vocab.raw([0])[0])
    for method in seq_client.get("/model-info").json()["explanation_methods"]:
        by_user = seq_client.get(
            f"/users/{user}/recommendations/i3/explanation", params={"method": method}
        ).json()
        by_session = seq_client.post(
            "/explanations", json={"items": history, "item": "i3", "method": method}
        ).json()
        assert by_session["user"] is None
        assert {**by_session, "user": user} == by_user
    empty = seq_client.post("/explanations", json={"items": [], "item": "i3"}).json()
    assert empty["fallback"] == "popularity" and empty["weights"] == []


def test_session_explanation_keeps_the_session_limit(ease_model, tmp_path) -> None:
    from fastapi.testclient import TestClient

    settings = ServeSettings(db=":memory:", max_history=3)
    with TestClient(create_app(settings, model=ease_model)) as c:
        ok = c.post("/explanations", json={"items": ["i1", "i2", "i3"], "item": "i4"})
        assert ok.status_code == 200 and len(ok.json()["weights"]) == 3
        r = c.post("/explanations", json={"items": ["i1"] * 4, "item": "i4"})
        assert r.status_code == 422 and r.json()["field"] == "items"
        assert "at most 3" in r.json()["detail"]


def test_attention_endpoint_reads_attention_maps(seq_client, sasrec_model) -> None:
    user = str(sasrec_model.user_vocab.raw([0])[0])
    history = sasrec_model.history.sequence(0)
    maps = sasrec_model.attention_maps(history)  # (layers, heads, n)
    default = seq_client.get(f"/users/{user}/attention").json()
    assert default["layer"] == 1 and default["head"] is None
    assert (default["num_layers"], default["num_heads"]) == (2, 2)
    assert np.allclose(_weights(default), maps[1].mean(axis=0), atol=1e-6)
    assert [w["item"] for w in default["weights"]] == list(sasrec_model.item_vocab.raw(history))
    seen = set()
    for layer in range(2):
        for head in range(2):
            body = seq_client.get(
                f"/users/{user}/attention", params={"layer": layer, "head": head}
            ).json()
            assert np.allclose(_weights(body), maps[layer, head], atol=1e-6)
            seen.add(tuple(np.round(_weights(body), 6)))
    assert len(seen) > 1  # heads and layers attend differently
    session = seq_client.post(
        "/attention", json={"items": list(sasrec_model.item_vocab.raw(history)), "layer": 0}
    ).json()
    assert session["user"] is None and np.allclose(_weights(session), maps[0].mean(axis=0))
    stranger = seq_client.get("/users/nobody/attention").json()
    assert stranger["weights"] == []


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"layer": 2}, "layer", "layer must be in [0, 2); got 2"),
        ({"head": 7}, "head", "head must be in [0, 2); got 7"),
        ({"layer": -1}, "layer", None),
    ],
)
def test_attention_out_of_range_names_layer_or_head(seq_client, params, field, message) -> None:
    r = seq_client.get("/users/u0/attention", params=params)
    assert r.status_code == 422 and r.json()["field"] == field
    if message:
        assert r.json()["detail"] == message


def test_attention_of_a_model_without_it_is_422(client) -> None:
    for r in (
        client.get("/users/u0/attention"),
        client.post("/attention", json={"items": ["i1"]}),
    ):
        assert r.status_code == 422 and r.json()["field"] == "model"
        assert "EASE has no attention" in r.json()["detail"]


# ---------------------------------------------------------------------- word weights
WORDS = ["amber", "basalt", "cobalt", "dune", "ember", "fjord"]


@pytest.fixture(scope="module")
def titled_text_model():
    """An ID + text SASRec whose item table has titles, encoded by a hash encoder."""
    import polars as pl

    from ssl4rec.data.interactions import Interactions
    from ssl4rec.models.sasrec import SASRec, SASRecConfig
    from ssl4rec.testing.fakes import HashTextEncoder
    from ssl4rec.testing.synthetic import TINY_SEQUENTIAL, block_interactions
    from ssl4rec.text.templates import item_texts

    base = block_interactions(num_users=60, num_items=24)
    ids = base.item_vocab.to_list()
    titles = [f"{WORDS[n % len(WORDS)]} story {n}" for n in range(len(ids))]
    data = Interactions(
        users=base.users,
        items=base.items,
        weights=base.weights,
        timestamps=base.timestamps,
        user_vocab=base.user_vocab,
        item_vocab=base.item_vocab,
        item_table=pl.DataFrame({"item_id": ids, "title": titles}),
        name="titled-blocks",
    )
    vectors = HashTextEncoder(16).encode(item_texts(data, "{title}"))
    config = SASRecConfig(
        **{**TINY_SEQUENTIAL, "epochs": 3},  # type: ignore[arg-type]
        item_repr="id+text",
        text_template="{title}",
    )
    return SASRec(config, item_text=vectors).fit(data)


def test_tokens_true_weighs_the_words_of_the_item_text(titled_text_model, settings) -> None:
    from fastapi.testclient import TestClient

    from ssl4rec.testing.fakes import HashTextEncoder

    model = titled_text_model
    encoder = HashTextEncoder(16)
    app = create_app(settings, model=model)
    app.state.text_encoder = encoder  # type: ignore[attr-defined]
    user = "u0"
    history = model.history.sequence(model.user_vocab.index(user))
    with TestClient(app) as c:
        item = c.get(f"/users/{user}/recommendations", params={"k": 1}).json()["items"][0]["item"]
        index = model.item_vocab.index(item)
        url = f"/users/{user}/recommendations/{item}/explanation"
        assert c.get(url).json()["tokens"] is None  # words only when asked
        body = c.get(url, params={"tokens": "true"}).json()
        texts = [f"{WORDS[n % len(WORDS)]} story {n}" for n in range(model.num_items)]
        expected = explain(model, history, [index], encoder=encoder, item_texts=texts)[0]
        assert [t["token"] for t in body["tokens"]] == [w for w, _ in expected.tokens]
        assert np.allclose([t["weight"] for t in body["tokens"]], [w for _, w in expected.tokens])
        assert {t["token"] for t in body["tokens"]} <= set(texts[index].split())
        session = c.post(
            "/explanations",
            json={"items": list(model.item_vocab.raw(history)), "item": item, "tokens": True},
        ).json()
        assert [t["token"] for t in session["tokens"]] == [w for w, _ in expected.tokens]


def test_tokens_for_a_model_without_item_text_is_422(client) -> None:
    r = client.get("/users/u0/recommendations/i5/explanation", params={"tokens": "true"})
    assert r.status_code == 422 and r.json()["field"] == "tokens"
    assert "reads item text" in r.json()["detail"]
