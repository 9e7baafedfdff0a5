"""Hot swap under load: the load test runs while online updates swap new models in.

::

    python -m ssl4rec.serving.swapbench --model runs/sasrec/model --updates 3

spawns ``ssl4rec serve`` (fresh SQLite store, ``--update-tolerance`` as given), runs
the ``get`` scenario of ``ssl4rec.serving.loadtest`` once without updates (the
baseline), then again while, ``updates`` times, a batch of new events is posted and
``POST /admin/update`` runs in the server (training there, on the same cores). It
reports both runs' latencies, the failed requests, each update's outcome and time,
and the served version before and after.

The posted events are new users replaying the ordered training history of random
known users (so an update has real sequences to learn from).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ssl4rec.serving.loadtest import ScenarioResult, run_loadtest, spawn_server

__all__ = ["main", "swap_under_load"]


def _events(model_dir: Path, count: int, round_: int, seed: int) -> list[dict[str, Any]]:
    from ssl4rec.models.base import load_model

    model = load_model(model_dir)
    assert model.history is not None and model.item_vocab is not None
    rng = np.random.default_rng(seed + round_)
    ids = model.item_vocab.ids
    out: list[dict[str, Any]] = []
    user = 0
    while len(out) < count:
        seq = model.history.sequence(int(rng.integers(model.history.num_users)))[-30:]
        out += [
            {"user": f"swap{round_}-{user}", "item": str(ids[i]), "timestamp": 10**9 + t}
            for t, i in enumerate(seq.tolist())
        ]
        user += 1
    return out[:count]


def swap_under_load(
    model_dir: Path,
    *,
    updates: int = 3,
    events_per_update: int = 1000,
    duration: float = 30.0,
    concurrency: int = 4,
    tolerance: float = 1.0,
    seed: int = 0,
) -> dict[str, Any]:
    """Run the baseline and the swap run; see the module docstring."""
    import httpx

    proc, url = spawn_server(
        model_dir, extra_args=["--update-tolerance", str(tolerance), "--log-level", "error"]
    )
    try:
        base = run_loadtest(
            url, requests=10**9, duration=duration, concurrency=concurrency, scenarios=["get"]
        )[0]
        batches = [_events(model_dir, events_per_update, r, seed) for r in range(updates)]
        outcome: list[dict[str, Any]] = []
        holder: dict[str, ScenarioResult] = {}

        def load() -> None:
            holder["run"] = run_loadtest(
                url,
                requests=10**9,
                duration=duration,
                concurrency=concurrency,
                scenarios=["get"],
                seed=seed + 1,
            )[0]

        before = httpx.get(f"{url}/model-info", timeout=30).json()["version"]
        thread = threading.Thread(target=load)
        thread.start()
        time.sleep(1.0)
        with httpx.Client(base_url=url, timeout=600) as client:
            for batch in batches:
                for start in range(0, len(batch), 1000):
                    chunk = batch[start : start + 1000]
                    client.post("/events/batch", json={"events": chunk}).raise_for_status()
                started = time.perf_counter()
                res = client.post("/admin/update")
                res.raise_for_status()
                body = res.json()
                outcome.append(
                    {
                        "outcome": body["outcome"],
                        "version": body["version"],
                        "seconds_in_server": body.get("seconds"),
                        "seconds_wall": round(time.perf_counter() - started, 2),
                        "new_metric": body.get("new_metric"),
                        "old_metric": body.get("old_metric"),
                    }
                )
        thread.join()
        after = httpx.get(f"{url}/model-info", timeout=30).json()["version"]
    finally:
        proc.terminate()
        proc.wait(10)
    return {
        "baseline": asdict(base),
        "during_updates": asdict(holder["run"]),
        "updates": outcome,
        "version_before": before,
        "version_after": after,
        "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m ssl4rec.serving.swapbench --model DIR``."""
    parser = argparse.ArgumentParser(
        prog="python -m ssl4rec.serving.swapbench", description=__doc__
    )
    parser.add_argument("--model", required=True, help="saved model folder")
    parser.add_argument("--updates", type=int, default=3)
    parser.add_argument("--events", type=int, default=1000, help="events posted per update")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per load run")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--tolerance", type=float, default=1.0, help="serve --update-tolerance")
    parser.add_argument("--json", dest="json_out", help="also write the result here")
    args = parser.parse_args(argv)
    result = swap_under_load(
        Path(args.model),
        updates=args.updates,
        events_per_update=args.events,
        duration=args.duration,
        concurrency=args.concurrency,
        tolerance=args.tolerance,
    )
    text = json.dumps(result, indent=2)
    sys.stdout.write(text + "\n")
    if args.json_out:
        Path(args.json_out).write_text(text)
    failed = result["baseline"]["failures"] + result["during_updates"]["failures"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
