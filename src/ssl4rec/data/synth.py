"""Synthetic interaction logs of any size with power-law popularity, for scaling runs.

``synthesize`` draws ``events`` (user, item, timestamp) triples: item popularity
follows a Zipf-like law ``p(rank r) ∝ (r + 1) ** -item_exponent`` and user activity
``∝ (r + 1) ** -user_exponent`` (long tails as in real logs; Clauset, Shalizi & Newman,
SIAM Review 2009, on power laws in empirical data), both over a random permutation
of the ids so that popularity does not follow the id order. Timestamps are the event
positions (one global clock). Repeated (user, item) pairs occur, as in raw logs;
``preprocess`` deduplicates them. Ids are integers (``0..U-1``, ``0..I-1``).

``write_synthetic`` writes them as CSV or Parquet (by the file name) for
``ssl4rec datasets synth`` and the scaling benchmark.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from ssl4rec.errors import ConfigError

__all__ = ["synthesize", "write_synthetic"]


def _power_law(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Probabilities ``(n,)`` ∝ ``(rank + 1) ** -exponent``, ranks randomly assigned to ids."""
    weights = np.arange(1, n + 1, dtype=np.float64) ** -exponent
    weights /= weights.sum()
    return weights[rng.permutation(n)]


def synthesize(
    users: int,
    items: int,
    events: int,
    *,
    seed: int = 0,
    item_exponent: float = 1.0,
    user_exponent: float = 0.8,
    chunk: int = 1_000_000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(users int32, items int32, timestamps int64)`` arrays of ``events`` draws.

    Every user and item id has a positive probability; with enough events most occur.
    Draws are made ``chunk`` events at a time, so the working memory beyond the
    three output arrays stays ``O(chunk)``.

    Raises:
        ConfigError: a count below 1 or a negative exponent.
    """
    for field, value in (("users", users), ("items", items), ("events", events)):
        if value < 1:
            raise ConfigError(f"synthesize: {field} must be ≥ 1; got {value}")
    for field, exp in (("item_exponent", item_exponent), ("user_exponent", user_exponent)):
        if exp < 0:
            raise ConfigError(f"synthesize: {field} must be ≥ 0; got {exp}")
    rng = np.random.default_rng(seed)
    user_cdf = np.cumsum(_power_law(users, user_exponent, rng))
    item_cdf = np.cumsum(_power_law(items, item_exponent, rng))
    user_rng, item_rng = rng.spawn(2)  # one stream each: the draws do not depend on chunk
    out_u = np.empty(events, dtype=np.int32)
    out_i = np.empty(events, dtype=np.int32)
    for start in range(0, events, chunk):
        stop = min(start + chunk, events)
        size = stop - start
        out_u[start:stop] = np.minimum(np.searchsorted(user_cdf, user_rng.random(size)), users - 1)
        out_i[start:stop] = np.minimum(np.searchsorted(item_cdf, item_rng.random(size)), items - 1)
    return out_u, out_i, np.arange(events, dtype=np.int64)


def write_synthetic(
    path: str | Path,
    users: int,
    items: int,
    events: int,
    *,
    seed: int = 0,
    item_exponent: float = 1.0,
    user_exponent: float = 0.8,
) -> Path:
    """Write a synthetic log with columns ``user_id, item_id, timestamp``.

    ``.parquet`` / ``.pq`` files are Parquet, anything else CSV (comma-separated).

    Returns:
        The path written.
    """
    path = Path(path)
    u, i, t = synthesize(
        users,
        items,
        events,
        seed=seed,
        item_exponent=item_exponent,
        user_exponent=user_exponent,
    )
    frame = pl.DataFrame({"user_id": u, "item_id": i, "timestamp": t})
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".parquet", ".pq"):
        frame.write_parquet(path)
    else:
        frame.write_csv(path)
    return path
