"""The load test against a live loopback server: counts, failures, explanations."""

from __future__ import annotations

import pytest

from ssl4rec.serving.app import create_app
from ssl4rec.serving.loadtest import format_markdown, run_loadtest
from ssl4rec.serving.settings import ServeSettings


def test_loadtest_requests_explanations_with_the_given_method(
    ease_model, live_server, tmp_path
) -> None:
    app = create_app(ServeSettings(db=str(tmp_path / "e.sqlite")), model=ease_model)
    with live_server(app) as url:
        plain = run_loadtest(url, requests=20, concurrency=2, scenarios=["get"], duration=10)
        explained = run_loadtest(
            url, requests=20, concurrency=2, scenarios=["get", "session"], explain="item-weights"
        )
        wrong = run_loadtest(url, requests=5, concurrency=1, scenarios=["get"], explain="nope")
    assert [r.requests for r in plain + explained] == [20, 20, 20]
    assert not any(r.failures for r in plain + explained)
    assert wrong[0].failures == 5 and wrong[0].errors == {"HTTP 422": 5}  # the method is sent
    table = format_markdown(explained, explain="item-weights")
    assert "GET /users/{id}/recommendations explain=item-weights" in table


def test_loadtest_refuses_remote_urls() -> None:
    with pytest.raises(ValueError, match="127.0.0.1"):
        run_loadtest("http://example.com:8000", requests=1)
