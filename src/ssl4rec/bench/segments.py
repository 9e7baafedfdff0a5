"""Per-segment results of a finished suite: cold vs warm users, and paired tests between rows.

A suite's cells keep per-user test metrics (``cells/<cell>/per_user.npz``). This module
splits them by the users' number of training events (users with fewer than
``cold_below`` are *cold*: where side information such as a trust graph should help
most) and compares two rows user by user (``ssl4rec.evaluation.significance``)::

    python -m ssl4rec.bench.segments ciao-social --out runs/bench/ciao-social --pair lightgcn,lightgcn-trust

It prints Markdown tables. The split is rebuilt from the suite's data and split
sections (the same deterministic split every cell used).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ssl4rec.bench.suite import Suite, cell_id, load_suite
from ssl4rec.errors import DataError

__all__ = [
    "SegmentRow",
    "activity_rows",
    "load_per_user",
    "paired_rows",
    "render_segments",
    "segment_means",
]


@dataclass(frozen=True)
class SegmentRow:
    """One suite row's metric per user segment, mean and std over seeds."""

    label: str
    seeds: tuple[int, ...]
    means: dict[str, float]
    stds: dict[str, float]
    users: dict[str, int]
    """Test users in each segment."""


def segment_means(
    users: np.ndarray, values: np.ndarray, train_counts: np.ndarray, cold_below: int
) -> dict[str, tuple[float, int]]:
    """Mean of ``values`` over all, cold (< ``cold_below`` train events) and warm users.

    Args:
        users: ``(n,)`` user indices of the evaluated test users.
        values: ``(n,)`` their metric values.
        train_counts: training events per user index.
        cold_below: the activity threshold.

    Returns:
        ``{"all" | "cold" | "warm": (mean, users)}``; the mean is NaN for an empty segment.
    """
    cold = train_counts[users] < cold_below
    out: dict[str, tuple[float, int]] = {}
    for name, mask in (("all", np.ones_like(cold)), ("cold", cold), ("warm", ~cold)):
        n = int(mask.sum())
        out[name] = (float(values[mask].mean()) if n else math.nan, n)
    return out


def load_per_user(
    out_dir: Path, label: str, seed: int, metric: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(users, values)`` of one finished cell of ours, or ``None`` if it has none."""
    path = out_dir / "cells" / cell_id(label, seed) / "per_user.npz"
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        key = f"m:{metric}"
        if key not in data.files:
            raise DataError(f"{path}: no per-user values of {metric!r}; it has {data.files}")
        return data["users"].astype(np.int64), data[key].astype(np.float64)


def activity_rows(
    suite: Suite,
    out_dir: Path,
    train_counts: np.ndarray,
    *,
    metric: str,
    cold_below: int,
    labels: Sequence[str] | None = None,
) -> list[SegmentRow]:
    """Per-segment means over the seeds of each row (rows without cells are left out)."""
    rows: list[SegmentRow] = []
    for entry in suite.models:
        if labels is not None and entry.label not in labels:
            continue
        per_seed: list[dict[str, tuple[float, int]]] = []
        seeds: list[int] = []
        for seed in suite.seeds:
            loaded = load_per_user(out_dir, entry.label, seed, metric)
            if loaded is None:
                continue
            per_seed.append(segment_means(*loaded, train_counts, cold_below))
            seeds.append(seed)
        if not per_seed:
            continue
        names = ("all", "cold", "warm")
        means = {n: float(np.mean([s[n][0] for s in per_seed])) for n in names}
        stds = {n: float(np.std([s[n][0] for s in per_seed])) for n in names}
        rows.append(
            SegmentRow(
                entry.label, tuple(seeds), means, stds, {n: per_seed[0][n][1] for n in names}
            )
        )
    return rows


def paired_rows(
    out_dir: Path,
    a: str,
    b: str,
    seeds: Sequence[int],
    metric: str,
    train_counts: np.ndarray | None = None,
    cold_below: int | None = None,
) -> dict[str, Any]:
    """Paired test of row ``b`` against row ``a`` (per-user values averaged over seeds).

    With ``train_counts`` and ``cold_below``, only cold users are compared.

    Raises:
        DataError: a row without per-user values, or rows over different users.
    """
    from ssl4rec.evaluation.results import EvalResult
    from ssl4rec.evaluation.significance import paired_test

    results = []
    for label in (a, b):
        loaded = [load_per_user(out_dir, label, s, metric) for s in seeds]
        found = [x for x in loaded if x is not None]
        if not found:
            raise DataError(
                f"{out_dir}: no per-user values for row {label!r} (seeds {list(seeds)})"
            )
        users = np.sort(found[0][0])
        stacked = []
        for u, v in found:
            order = np.argsort(u, kind="stable")
            if not np.array_equal(u[order], users):
                raise DataError(f"{out_dir}: row {label!r} has cells over different test users")
            stacked.append(v[order])
        values = np.mean(np.stack(stacked), axis=0)
        if train_counts is not None and cold_below is not None:
            keep = train_counts[users] < cold_below
            users, values = users[keep], values[keep]
        results.append(
            EvalResult(
                metrics={metric: float(values.mean())}, per_user={metric: values}, users=users
            )
        )
    test = paired_test(results[0], results[1], metric)
    return {"a": a, "b": b, **test.to_dict()}


def render_segments(rows: Sequence[SegmentRow], metric: str, cold_below: int) -> str:
    """A Markdown table: one line per row, columns all / cold / warm."""
    if not rows:
        return "(no finished cells)\n"
    users = rows[0].users
    head = (
        f"| model | seeds | {metric} all ({users['all']} users) | cold: < {cold_below} train events "
        f"({users['cold']}) | warm ({users['warm']}) |"
    )
    lines = [head, "|---|---|---|---|---|"]
    for row in rows:
        cells = [f"{row.means[n]:.4f} ± {row.stds[n]:.4f}" for n in ("all", "cold", "warm")]
        lines.append(f"| {row.label} | {len(row.seeds)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _train_counts(suite: Suite, data_path: str | None) -> np.ndarray:
    from ssl4rec.config.base import from_dict
    from ssl4rec.runner import load_data, make_experiment_split
    from ssl4rec.runner.experiment import DataConfig, SplitConfig

    data = dict(suite.data)
    if data_path is not None:
        data = {**data, "dataset": None, "path": data_path}
    data.pop("social", None)
    split = make_experiment_split(
        load_data(DataConfig.from_section(data)),
        from_dict(SplitConfig, suite.split, where="split"),
    )
    return np.diff(split.train.csr().indptr)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the segment table (and paired tests) of a finished suite."""
    parser = argparse.ArgumentParser(
        prog="python -m ssl4rec.bench.segments", description=__doc__.split("\n")[0]
    )
    parser.add_argument("suite", help="suite name or YAML file")
    parser.add_argument("--out", required=True, help="the suite's results folder")
    parser.add_argument("--metric", default="ndcg@10")
    parser.add_argument("--cold-below", type=int, default=5)
    parser.add_argument("--data-path", default=None, help="as given to ssl4rec bench")
    parser.add_argument(
        "--pair", action="append", default=[], help="A,B: paired test of B against A"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = parser.parse_args(argv)
    suite = load_suite(args.suite)
    out_dir = Path(args.out)
    counts = _train_counts(suite, args.data_path)
    rows = activity_rows(suite, out_dir, counts, metric=args.metric, cold_below=args.cold_below)
    pairs: list[Mapping[str, Any]] = []
    for text in args.pair:
        a, _, b = text.partition(",")
        for cold in (None, args.cold_below):
            if cold is not None and rows and rows[0].users["cold"] < 2:
                continue  # no paired test over fewer than two cold users
            result = dict(paired_rows(out_dir, a, b, suite.seeds, args.metric, counts, cold))
            result["users"] = "cold" if cold else "all"
            pairs.append(result)
    if args.json:
        print(json.dumps({"rows": [r.__dict__ for r in rows], "pairs": pairs}, indent=2))
        return 0
    print(render_segments(rows, args.metric, args.cold_below))
    for p in pairs:
        print(
            f"- {p['b']} vs {p['a']} ({p['users']} users, n={p['num_users']}): {args.metric} "
            f"{p['mean_b']:.4f} vs {p['mean_a']:.4f}, diff {p['mean_diff']:+.4f} "
            f"[95% CI {p['ci_low']:+.4f}, {p['ci_high']:+.4f}], Wilcoxon p={p['wilcoxon_p']:.3g}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
