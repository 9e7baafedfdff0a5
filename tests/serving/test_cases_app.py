"""Several cases behind one server (``/cases/NAME/``), and item text beside recommendations."""

from __future__ import annotations

from pathlib import Path

import polars as pl

import pytest

from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import ConfigError
from ssl4rec.models.ease import EASE
from ssl4rec.models.item_knn import ItemKNN
from ssl4rec.serving.cases import CaseApp, create_cases_app
from ssl4rec.serving.service import DETAIL_CHARS, _shorten
from ssl4rec.serving.settings import CaseLink, ServeSettings

LINKS = (
    CaseLink(name="films", title="Films: EASE", question="Which films next?"),
    CaseLink(name="knn", title="Films: ItemKNN"),
)


def _entries(tmp_path: Path, ease: EASE, knn: ItemKNN) -> list[CaseApp]:
    return [
        CaseApp(ServeSettings(db=str(tmp_path / f"{link.name}.sqlite"), case=link, cases=LINKS), model)
        for link, model in zip(LINKS, (ease, knn), strict=True)
    ]


def test_each_case_is_a_whole_service_under_its_prefix(
    tmp_path: Path, ease_model: EASE, knn_model: ItemKNN
) -> None:
    from fastapi.testclient import TestClient

    with TestClient(create_cases_app(_entries(tmp_path, ease_model, knn_model))) as client:
        first = client.get("/", follow_redirects=False)
        assert first.status_code == 307 and first.headers["location"] == "/cases/films/"
        slashless = client.get("/cases/knn", follow_redirects=False)
        assert slashless.headers["location"] == "/cases/knn/"
        assert [c["path"] for c in client.get("/cases").json()] == ["/cases/films/", "/cases/knn/"]

        info = client.get("/cases/films/model-info").json()
        assert info["class"] == "EASE"
        assert info["case"] == {
            "name": "films",
            "title": "Films: EASE",
            "question": "Which films next?",
            "cases": [{"name": "films", "title": "Films: EASE"}, {"name": "knn", "title": "Films: ItemKNN"}],
        }
        assert client.get("/cases/knn/model-info").json()["class"] == "ItemKNN"
        page = client.get("/cases/knn/")
        assert page.status_code == 200 and 'src="static/app.js"' in page.text
        assert "setupCaseSwitch" in client.get("/cases/knn/static/app.js").text

        # each case has its own event store
        posted = client.post("/cases/films/events", json={"user": "newbie", "item": "i3"})
        assert posted.status_code in (200, 201)
        films = client.get("/cases/films/users/newbie/history").json()
        knn = client.get("/cases/knn/users/newbie/history").json()
        assert [e["item"] for e in films["events"]] == ["i3"]
        assert knn["events"] == []
        recs = client.get("/cases/knn/users/u0/recommendations?k=3").json()
        assert len(recs["items"]) == 3
    assert (tmp_path / "films.sqlite").is_file() and (tmp_path / "knn.sqlite").is_file()


def test_a_single_model_server_names_no_case(client) -> None:
    assert client.get("/model-info").json()["case"] is None


def test_cases_need_distinct_names(tmp_path: Path, ease_model: EASE) -> None:
    same = CaseApp(ServeSettings(db=":memory:", case=LINKS[0]), ease_model)
    with pytest.raises(ConfigError, match=r"each case needs its own name; got \['films', 'films'\]"):
        create_cases_app([same, same])
    with pytest.raises(ConfigError, match="got \\[''\\]"):
        create_cases_app([CaseApp(ServeSettings(db=":memory:"), ease_model)])
    with pytest.raises(ConfigError, match="no case to serve"):
        create_cases_app([])


def test_recommendations_carry_the_item_text_beside_the_title(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from ssl4rec.serving.app import create_app

    frame = pl.DataFrame(
        {"user_id": ["a", "a", "b", "b", "c"], "item_id": ["x", "y", "x", "z", "y"]}
    )
    table = pl.DataFrame(
        {
            "item_id": ["x", "y", "z"],
            "title": ["Muse", "Björk", "Nobody"],
            "tags": [["rock", "alternative"], ["electronic"], None],
            "description": [None, None, "An unknown band."],
        }
    )
    model = EASE(l2_reg=1.0).fit(Interactions.from_frame(frame, item_table=table))
    with TestClient(create_app(ServeSettings(db=str(tmp_path / "e.sqlite")), model=model)) as client:
        items = client.get("/users/c/recommendations?k=2").json()["items"]
    detail = {i["item"]: i["detail"] for i in items}
    assert detail == {"x": "tags: rock, alternative", "z": "An unknown band."}


def test_long_item_text_is_cut_at_a_word() -> None:
    text = " ".join(["word"] * 100)
    short = _shorten(text)
    assert len(short) <= DETAIL_CHARS and short.endswith("word…")
    assert _shorten("short") == "short"
