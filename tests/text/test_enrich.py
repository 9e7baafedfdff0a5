"""LLM profiles against a loopback chat-completions server started here (no network)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polars as pl
from typer.testing import CliRunner

import pytest

from ssl4rec.cli.main import app
from ssl4rec.errors import ConfigError
from ssl4rec.text.enrich import EnrichConfig, enrich, item_prompts, with_profiles
from ssl4rec.text.templates import item_texts


class ChatServer(BaseHTTPRequestHandler):
    """``POST /v1/chat/completions``: a profile, except for prompts naming a failure."""

    calls: list[str] = []
    flaky: dict[str, int] = {}

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        type(self).calls.append(prompt)
        if "SLOW" in prompt:
            time.sleep(1.0)
        if "BROKEN" in prompt:
            content = "Sure! Here is a profile: great film"
        elif "FLAKY" in prompt and type(self).flaky.setdefault(prompt, 0) < 1:
            type(self).flaky[prompt] += 1
            content = '{"profile": '
        else:
            title = prompt.removeprefix("Item: ").split(".")[0]
            content = json.dumps(
                {"profile": f"A story called {title}.", "genres": ["Drama"], "themes": []}
            )
        answer = {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content},
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except BrokenPipeError:  # the client gave up (the timeout test)
            pass

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[str]:
    ChatServer.calls, ChatServer.flaky = [], {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ChatServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


def config(url: str, tmp_path, **kw: object) -> EnrichConfig:
    return EnrichConfig(
        base_url=url,
        model="tiny",
        cache_dir=str(tmp_path / "llm"),
        backoff_s=0.0,
        **kw,  # type: ignore[arg-type]
    )


def test_profiles_are_written_cached_and_counted(server, tmp_path) -> None:
    prompts = ["Item: Heat. Crime", "Item: Alien. Horror"]
    first = enrich(prompts, config(server, tmp_path))
    assert first.profiles == [
        "A story called Heat. Genres: Drama.",
        "A story called Alien. Genres: Drama.",
    ]
    assert (first.requests, first.cached, first.failed) == (2, 0, 0)
    assert (first.prompt_tokens, first.completion_tokens) == (20, 10)
    again = enrich(prompts, config(server, tmp_path))  # from the cache: nothing sent
    assert again.profiles == first.profiles and again.cached == 2 and again.requests == 0
    assert len(ChatServer.calls) == 2
    priced = enrich(["Item: Up"], config(server, tmp_path, price_prompt=1.0, price_completion=2.0))
    assert priced.cost == pytest.approx((10 * 1.0 + 5 * 2.0) / 1e6)


def test_malformed_and_slow_answers_are_retried_then_keep_the_raw_text(server, tmp_path) -> None:
    prompts = ["Item: BROKEN", "Item: FLAKY one", "Item: SLOW", "Item: Fine"]
    report = enrich(prompts, config(server, tmp_path, max_retries=2, timeout_s=0.3))
    assert report.profiles[0] is None and report.profiles[2] is None  # keep raw text
    assert report.profiles[1] == "A story called FLAKY one. Genres: Drama."  # second try
    assert report.profiles[3] is not None
    assert report.failed == 2 and report.errors["malformed"] == 3 + 1
    assert report.errors["timeout"] == 3
    assert report.retried == 2 + 1 + 2


def test_unreachable_server_fails_every_prompt_without_raising(tmp_path) -> None:
    report = enrich(["Item: A"], config("http://127.0.0.1:9/v1", tmp_path, max_retries=1))
    assert report.profiles == [None] and report.failed == 1 and report.requests == 2


def test_profiles_feed_the_item_text(movies) -> None:
    enriched = with_profiles(movies, ["p"] * movies.num_items)
    texts = item_texts(enriched, ("{title}", ". {profile}"))
    assert texts[0].endswith(". p")
    with pytest.raises(ConfigError, match="one entry per item"):
        with_profiles(movies, ["p"])


def test_bad_config() -> None:
    with pytest.raises(ConfigError, match="EnrichConfig.base_url must be an http"):
        EnrichConfig(base_url="localhost:8000", model="m")


def test_cli_dry_run_and_enrich(server, tmp_path, monkeypatch) -> None:
    frame = pl.DataFrame({"user": ["a", "a", "b"], "item": ["x", "y", "x"], "ts": [1, 2, 3]})
    frame.write_csv(tmp_path / "events.csv")
    (tmp_path / "exp.yaml").write_text(
        f"data: {{path: {tmp_path / 'events.csv'}, columns: {{user: user, item: item, timestamp: ts}}}}\n"
        "model: {name: pop}\n"
    )
    runner = CliRunner()
    res = runner.invoke(app, ["text", "enrich", "-c", str(tmp_path / "exp.yaml"), "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "Item: x" in res.output and "2 prompt(s); nothing sent" in res.output
    assert ChatServer.calls == []
    out = tmp_path / "profiles.parquet"
    args = ["text", "enrich", "-c", str(tmp_path / "exp.yaml"), "--base-url", server]
    args += ["--model", "tiny", "--out", str(out), "--cache-dir", str(tmp_path / "c")]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert pl.read_parquet(out)["profile"].to_list() == [
        "A story called x. Genres: Drama.",
        "A story called y. Genres: Drama.",
    ]


def test_item_prompts(movies) -> None:
    assert item_prompts(movies, "{title}")[0] == f"Item: {item_texts(movies, '{title}')[0]}"
