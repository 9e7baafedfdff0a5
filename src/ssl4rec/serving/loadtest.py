"""Bounded load test of a running (or spawned) ssl4rec service on 127.0.0.1.

Three scenarios run one after another, each until ``requests`` requests or
``duration`` seconds, whichever comes first, with ``concurrency`` connections:

- ``get``: ``GET /users/{id}/recommendations?k=10`` for random training users;
- ``session``: ``POST /recommendations`` with 5-20 random popular items;

(both with ``explain=true`` and the given method when ``explain`` is set, so the
cost of explaining all ``k`` recommendations is measured);
- ``events``: ``POST /events`` for load-test users, each with a unique ``event_id``;
  afterwards every stored event is counted through ``/users/{id}/history``, so a
  lost or duplicated write is reported.

Run it against a saved model (the service is spawned on a free port with a fresh
SQLite store)::

    python -m ssl4rec.serving.loadtest --model runs/ml100k-ease/model

or against a service already running on this machine with ``--url``. Explanation
latency: ``--explain occlusion --scenarios get`` (``--explain default`` takes the
model's default method).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

__all__ = ["ScenarioResult", "main", "run_loadtest", "spawn_server"]

logger = logging.getLogger(__name__)

_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass
class ScenarioResult:
    """Latencies and counts of one scenario."""

    name: str
    requests: int
    failures: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    rps: float
    lost: int = 0
    """Events acknowledged but not found in the store (``events`` only)."""
    server_cpu_ms: float | None = None
    """Server process CPU time per request (user + system), when the server was
    spawned here; unlike latency it does not depend on other load on the machine."""
    errors: dict[str, int] = field(default_factory=dict)


async def _run_scenario(
    name: str,
    make_request: Callable[[Any, random.Random], Awaitable[Any]],
    client: Any,
    *,
    requests: int,
    duration: float,
    concurrency: int,
    seed: int,
) -> tuple[ScenarioResult, list[Any]]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    results: list[Any] = []
    issued = 0
    start = time.perf_counter()
    deadline = start + duration

    async def worker(wid: int) -> None:
        nonlocal issued
        # load pattern, not security (bandit B311)
        rng = random.Random(seed * 1000 + wid)  # nosec B311
        while issued < requests and time.perf_counter() < deadline:
            issued += 1
            t0 = time.perf_counter()
            try:
                response = await make_request(client, rng)
                ok = 200 <= response.status_code < 300
                key = None if ok else f"HTTP {response.status_code}"
                if ok:
                    results.append(response.json())
            except Exception as err:  # noqa: BLE001 - every failure is counted
                key = type(err).__name__
            latencies.append(time.perf_counter() - t0)
            if key is not None:
                errors[key] = errors.get(key, 0) + 1

    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    seconds = time.perf_counter() - start
    lat = np.asarray(latencies) * 1000.0
    pct = np.percentile(lat, [50, 95, 99]) if len(lat) else np.zeros(3)
    result = ScenarioResult(
        name=name,
        requests=len(lat),
        failures=sum(errors.values()),
        seconds=round(seconds, 2),
        p50_ms=round(float(pct[0]), 2),
        p95_ms=round(float(pct[1]), 2),
        p99_ms=round(float(pct[2]), 2),
        max_ms=round(float(lat.max()), 2) if len(lat) else 0.0,
        rps=round(len(lat) / seconds, 1) if seconds > 0 else 0.0,
        errors=errors,
    )
    logger.info("scenario done: %s", result)
    return result, results


async def _loadtest(
    url: str,
    *,
    requests: int,
    duration: float,
    concurrency: int,
    scenarios: Sequence[str],
    seed: int,
    k: int,
    explain: str | None = None,
    server_pid: int | None = None,
) -> list[ScenarioResult]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0) as client:
        users = (await client.get("/users", params={"limit": 1000})).json()["users"]
        items = [
            r["item"] for r in (await client.get("/items", params={"limit": 1000})).json()["items"]
        ]
        run = uuid.uuid4().hex[:8]
        load_users = [f"loadtest-{run}-{n}" for n in range(200)]
        counter = iter(range(10**12))
        explained: dict[str, Any] = {}
        if explain is not None:
            explained["explain"] = True
            if explain != "default":
                explained["method"] = explain

        async def get(c: Any, rng: random.Random) -> Any:
            return await c.get(
                f"/users/{rng.choice(users)}/recommendations", params={"k": k, **explained}
            )

        async def session(c: Any, rng: random.Random) -> Any:
            history = rng.sample(items, rng.randint(5, min(20, len(items))))
            return await c.post("/recommendations", json={"items": history, "k": k, **explained})

        async def event(c: Any, rng: random.Random) -> Any:
            n = next(counter)
            body = {
                "user": rng.choice(load_users),
                "item": rng.choice(items),
                "timestamp": 1_700_000_000 + n,
                "event_id": f"{run}-{n}",
            }
            return await c.post("/events", json=body)

        makers = {"get": get, "session": session, "events": event}
        out = []
        for name in scenarios:
            # a short warm-up so that first-request costs do not count
            for _ in range(min(20, requests)):
                # load pattern, not security (bandit B311)
                await makers[name](client, random.Random(seed))  # nosec B311
            cpu_before = _cpu_seconds(server_pid)
            result, bodies = await _run_scenario(
                name,
                makers[name],
                client,
                requests=requests,
                duration=duration,
                concurrency=concurrency,
                seed=seed,
            )
            cpu_after = _cpu_seconds(server_pid)
            if cpu_before is not None and cpu_after is not None and result.requests:
                result.server_cpu_ms = round((cpu_after - cpu_before) * 1000 / result.requests, 3)
            if name == "events":
                acked = {b["event_id"] for b in bodies}
                stored: set[str] = set()
                for user in load_users:
                    hist = await client.get(f"/users/{user}/history", params={"limit": 1000})
                    stored.update(
                        e["event_id"] for e in hist.json()["events"] if e["event_id"] is not None
                    )
                result.lost = len(acked - stored)
            out.append(result)
        return out


def run_loadtest(
    url: str,
    *,
    requests: int = 3000,
    duration: float = 30.0,
    concurrency: int = 16,
    scenarios: Sequence[str] = ("get", "session", "events"),
    seed: int = 0,
    k: int = 10,
    explain: str | None = None,
    server_pid: int | None = None,
) -> list[ScenarioResult]:
    """Run the scenarios against ``url`` (127.0.0.1 only); see the module docstring.

    ``explain``: an explanation method name (or ``"default"``) to request with
    ``explain=true`` in ``get`` and ``session``; ``None`` requests no explanation.

    Raises:
        ValueError: ``url`` is not on this machine, or an unknown scenario.
    """
    host = urlparse(url).hostname
    if host not in _LOCAL_HOSTS:
        raise ValueError(f"loadtest: url must point at 127.0.0.1; got {url!r}")
    unknown = [s for s in scenarios if s not in ("get", "session", "events")]
    if unknown:
        raise ValueError(f"loadtest: scenarios must be get, session or events; got {unknown}")
    return asyncio.run(
        _loadtest(
            url,
            requests=requests,
            duration=duration,
            concurrency=concurrency,
            scenarios=scenarios,
            seed=seed,
            k=k,
            explain=explain,
            server_pid=server_pid,
        )
    )


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a process (Linux ``/proc``), else ``None``."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn_server(
    model_dir: str | Path, *, db: str | None = None, extra_args: Sequence[str] = ()
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``ssl4rec serve`` on a free 127.0.0.1 port; returns the process and URL.

    Raises:
        RuntimeError: the server did not answer ``/health`` within 60 s.
    """
    import httpx

    port = _free_port()
    if db is None:
        db = str(Path(tempfile.mkdtemp(prefix="ssl4rec-loadtest-")) / "events.sqlite")
    cmd = [
        sys.executable,
        "-m",
        "ssl4rec.cli.main",
        "serve",
        "--model",
        str(model_dir),
        "--port",
        str(port),
        "--db",
        db,
        *extra_args,
    ]
    # our own CLI, list args (bandit B603)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # nosec B603
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"loadtest: the server exited: {err.strip()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("loadtest: the server did not answer /health within 60 s")


def format_markdown(results: Sequence[ScenarioResult], *, explain: str | None = None) -> str:
    """A markdown table of the results (``explain``: the method requested, if any)."""
    suffix = "" if explain is None else f" explain={explain}"
    names = {
        "get": f"GET /users/{{id}}/recommendations{suffix}",
        "session": f"POST /recommendations (session){suffix}",
        "events": "POST /events",
    }
    lines = [
        "| endpoint | requests | failed | lost | req/s | p50 ms | p95 ms | p99 ms | max ms "
        "| server CPU ms/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lost = str(r.lost) if r.name == "events" else "–"
        lines.append(
            f"| {names.get(r.name, r.name)} | {r.requests} | {r.failures} | {lost} | {r.rps} "
            f"| {r.p50_ms} | {r.p95_ms} | {r.p99_ms} | {r.max_ms} "
            f"| {'–' if r.server_cpu_ms is None else r.server_cpu_ms} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m ssl4rec.serving.loadtest --model DIR | --url URL``."""
    parser = argparse.ArgumentParser(prog="python -m ssl4rec.serving.loadtest", description=__doc__)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--model", help="saved model folder: spawn `ssl4rec serve` for it")
    target.add_argument("--url", help="a running service on 127.0.0.1")
    parser.add_argument("--requests", type=int, default=3000, help="per scenario (default 3000)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per scenario cap")
    parser.add_argument("--concurrency", type=int, default=16, help="connections (default 16)")
    parser.add_argument("--scenarios", default="get,session,events")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument(
        "--explain",
        metavar="METHOD",
        help="request explain=true with this method in get and session "
        "('default': the model's default method)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", dest="json_out", help="also write the results here")
    parser.add_argument("--server-arg", action="append", default=[], help="extra serve option")
    args = parser.parse_args(argv)
    proc = None
    url = args.url
    if args.model:
        proc, url = spawn_server(args.model, extra_args=args.server_arg)
    try:
        results = run_loadtest(
            url,
            requests=args.requests,
            duration=args.duration,
            concurrency=args.concurrency,
            scenarios=[s.strip() for s in args.scenarios.split(",") if s.strip()],
            seed=args.seed,
            k=args.k,
            explain=args.explain,
            server_pid=proc.pid if proc is not None else None,
        )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
    report = format_markdown(results, explain=args.explain)
    # this function is the module's command line: its output is the report
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    sys.stdout.write(
        f"cpus={os.cpu_count()} load_avg_1m={load:.2f} concurrency={args.concurrency} "
        f"url={url}\n{report}\n"
    )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps([asdict(r) for r in results], indent=2))
    bad = any(r.failures or r.lost for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
