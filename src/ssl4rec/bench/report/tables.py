"""Benchmark report tables: rows over seeds, Markdown tables, significance.

From ``results.json`` records (one per cell) this builds:

- the main table: one row per (side, model), mean ± std over seeds for each metric
  and for fit time, seconds per epoch, time to best validation, evaluation time and
  peak memory; the best value of each column in bold (lowest for times and memory);
- a paired significance test of the best model against the runner-up on the
  suite's primary metric, over test users (per-user values averaged over seeds,
  read from each cell's ``per_user.npz``);
- with peer results, a ratio table ours / peer for the primary metric, time to best
  validation and peak memory, and each side's ``exclude_seen`` convention.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ssl4rec.bench.report.privacy import privacy_lines
from ssl4rec.bench.suite import Suite, cell_id

__all__ = [
    "TIME_COLUMNS",
    "Row",
    "aggregate",
    "render_markdown",
    "significance",
    "view_names",
    "view_rows",
]

TIME_COLUMNS: tuple[tuple[str, str], ...] = (
    ("fit_s", "fit s"),
    ("seconds_per_epoch", "s/epoch"),
    ("time_to_best_s", "to best s"),
    ("eval_s", "eval s"),
    ("peak_rss_mb", "peak MiB"),
)
"""Record field -> column header; lower is better for all of them."""
_LOWER_IS_BETTER_METRICS = ("gini", "avg_pop")


@dataclass
class Row:
    """One (side, model) row: values over seeds per column."""

    side: str
    model: str
    values: dict[str, list[float]] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    exclude_seen: bool | None = None
    notes: list[str] = field(default_factory=list)
    tag: str = ""
    """Shown after the name (e.g. a convention that differs from the table's)."""

    @property
    def name(self) -> str:
        """The cell's model label."""
        name = self.model if self.side == "ssl4rec" else f"{self.model} ({self.side})"
        return f"{name} {self.tag}" if self.tag else name

    def mean(self, key: str) -> float:
        """Mean of metric ``key`` over the seeds (NaN when absent)."""
        vals = [v for v in self.values.get(key, []) if v is not None and math.isfinite(v)]
        return float(np.mean(vals)) if vals else math.nan

    def std(self, key: str) -> float:
        """Standard deviation of metric ``key`` over the seeds (0 for one seed)."""
        vals = [v for v in self.values.get(key, []) if v is not None and math.isfinite(v)]
        return float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0 if vals else math.nan


def aggregate(records: Sequence[Mapping[str, Any]], suite: Suite | None = None) -> list[Row]:
    """Group records into rows (ours first in suite order, then peers)."""
    rows: dict[tuple[str, str], Row] = {}
    order = [e.label for e in suite.models] if suite is not None else []
    for rec in records:
        if suite is not None and rec.get("suite") not in (None, suite.name):
            continue
        key = (str(rec.get("side", "ssl4rec")), str(rec.get("model")))
        row = rows.setdefault(key, Row(side=key[0], model=key[1]))
        if rec.get("status") != "ok":
            row.failed.append(f"seed {rec.get('seed')}: {rec.get('error')}")
            continue
        row.seeds.append(int(rec.get("seed", 0)))
        row.exclude_seen = rec.get("exclude_seen")
        for name, value in (rec.get("metrics") or {}).items():
            row.values.setdefault(name, []).append(float(value))
        for view, metrics in (rec.get("views") or {}).items():
            for name, value in metrics.items():
                row.values.setdefault(f"{view}:{name}", []).append(float(value))
        for fld, _ in TIME_COLUMNS:
            value = rec.get(fld)
            row.values.setdefault(fld, []).append(float(value) if value is not None else math.nan)
        if rec.get("stopped_reason") == "time_budget":
            row.notes.append(f"time budget {rec.get('time_budget_s'):g} s reached")
        if rec.get("note"):
            row.notes.append(str(rec["note"]))

    def sort_key(item: tuple[tuple[str, str], Row]) -> tuple[int, int, str]:
        (side, model), _ = item
        pos = order.index(model) if model in order else len(order)
        return (0 if side == "ssl4rec" else 1, pos, model)

    return [row for _, row in sorted(rows.items(), key=sort_key)]


def _fmt(mean: float, std: float, digits: int) -> str:
    if math.isnan(mean):
        return "–"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _best(rows: Sequence[Row], key: str, lower: bool) -> float | None:
    means = [r.mean(key) for r in rows if not math.isnan(r.mean(key))]
    if not means:
        return None
    return min(means) if lower else max(means)


def _table(rows: Sequence[Row], columns: Sequence[tuple[str, str, bool, int]]) -> list[str]:
    """Markdown table; ``columns`` = (key, header, lower_is_better, digits)."""
    header = "| model | seeds | " + " | ".join(h for _, h, _, _ in columns) + " |"
    lines = [header, "|" + "---|" * (len(columns) + 2)]
    bests = {key: _best(rows, key, lower) for key, _, lower, _ in columns}
    for row in rows:
        cells = []
        for key, _, _, digits in columns:
            text = _fmt(row.mean(key), row.std(key), digits)
            best = bests[key]
            if best is not None and not math.isnan(row.mean(key)):
                if round(row.mean(key), digits) == round(best, digits):
                    text = f"**{text}**"
            cells.append(text)
        seeds = str(len(row.seeds)) + (f" ({len(row.failed)} failed)" if row.failed else "")
        lines.append(f"| {row.name} | {seeds} | " + " | ".join(cells) + " |")
    return lines


def significance(
    suite: Suite, rows: Sequence[Row], out_dir: Path, metric: str | None = None
) -> dict[str, Any] | None:
    """Paired test (Wilcoxon and t) of the best vs runner-up of our models on ``metric``.

    With the suite's ``paired: [baseline, candidate]`` the candidate is tested against
    the baseline instead (``"runner_up"`` is then the baseline). Per-user values of
    each model are averaged over its seeds (from the cells' ``per_user.npz``), then
    paired by user.

    Returns:
        ``{"best", "runner_up", "metric", ...PairedTestResult fields}`` or None when
        fewer than two of our models have per-user values.
    """
    from ssl4rec.evaluation.results import EvalResult
    from ssl4rec.evaluation.significance import paired_test

    metric = metric or suite.primary
    ours = [r for r in rows if r.side == "ssl4rec" and not math.isnan(r.mean(metric))]
    ours.sort(key=lambda r: r.mean(metric), reverse=True)
    if suite.paired:
        named = {r.model: r for r in ours}
        ours = [named[n] for n in reversed(suite.paired) if n in named]  # candidate first
    results: list[tuple[Row, EvalResult]] = []
    for row in ours:
        loaded = _per_user(out_dir, row, metric)
        if loaded is not None:
            results.append((row, loaded))
        if len(results) == 2:
            break
    if len(results) < 2:
        return None
    (best, best_res), (second, second_res) = results
    test = paired_test(second_res, best_res, metric)
    return {"best": best.name, "runner_up": second.name, **test.to_dict()}


def _per_user(out_dir: Path, row: Row, metric: str) -> Any:
    from ssl4rec.evaluation.results import EvalResult

    users: np.ndarray | None = None
    values: list[np.ndarray] = []
    for seed in row.seeds:
        path = out_dir / "cells" / cell_id(row.model, seed) / "per_user.npz"
        if not path.is_file():
            continue
        with np.load(path, allow_pickle=False) as data:
            key = f"m:{metric}"
            if key not in data.files:
                continue
            u = data["users"]
            order = np.argsort(u, kind="stable")
            if users is None:
                users = u[order]
            elif not np.array_equal(users, u[order]):
                continue
            values.append(data[key][order])
    if users is None or not values:
        return None
    mean = np.mean(np.stack(values), axis=0)
    return EvalResult(metrics={metric: float(mean.mean())}, per_user={metric: mean}, users=users)


def view_names(rows: Sequence[Row]) -> list[str]:
    """Names of the extra test views (``exclude_seen=false``, ``cold``, ...) in ``rows``."""
    names = {key.split(":", 1)[0] for row in rows for key in row.values if ":" in key}
    return sorted(names)


def view_rows(rows: Sequence[Row], view: str) -> list[Row]:
    """Rows of one view.

    Rows (ours or a peer's) with that view's values; for a convention view
    (``exclude_seen=X``) also the peer rows whose main numbers use that convention.
    """
    out: list[Row] = []
    prefix = f"{view}:"
    for row in rows:
        values = {k[len(prefix) :]: v for k, v in row.values.items() if k.startswith(prefix)}
        if values:
            values.update({k: v for k, v in row.values.items() if ":" not in k and "@" not in k})
            flag = view.partition("=")[2]
            out.append(
                Row(
                    side=row.side,
                    model=row.model,
                    values=values,
                    seeds=row.seeds,
                    failed=row.failed,
                    exclude_seen=(flag == "true") if flag else row.exclude_seen,
                )
            )
        elif row.side != "ssl4rec" and view == f"exclude_seen={str(row.exclude_seen).lower()}":
            out.append(row)
    return out


def _same_convention(mine: Row, peer: Row, metric: str) -> tuple[str, str]:
    """Our key for ``metric`` under the peer's ``exclude_seen`` convention, and a label."""
    if peer.exclude_seen is None or mine.exclude_seen == peer.exclude_seen:
        return metric, ""
    key = f"exclude_seen={str(peer.exclude_seen).lower()}:{metric}"
    if key in mine.values:
        return key, f" (both exclude_seen={str(peer.exclude_seen).lower()})"
    return metric, " (conventions differ)"


def _convention_views(row: Row) -> list[str]:
    """The ``exclude_seen=X`` views a row carries besides its main numbers."""
    return sorted({k.split(":", 1)[0] for k in row.values if k.startswith("exclude_seen=")})


def _ratio_table(rows: Sequence[Row], metric: str) -> list[str]:
    peers = [r for r in rows if r.side != "ssl4rec"]
    if not peers:
        return []
    ours = {r.model: r for r in rows if r.side == "ssl4rec"}
    lines = [
        f"| model | peer | {metric} ours / peer | time to best ours / peer | "
        "peak memory ours / peer |",
        "|---|---|---|---|---|",
    ]
    for peer in peers:
        mine = ours.get(peer.model)
        if mine is None:
            continue

        def ratio(key: str, mine: Row = mine, peer: Row = peer, ours: str | None = None) -> str:
            a, b = mine.mean(ours or key), peer.mean(key)
            if math.isnan(a) or math.isnan(b) or b == 0:
                return "–"
            return f"{a / b:.2f} ({a:.4g} / {b:.4g})"

        ours_key, label = _same_convention(mine, peer, metric)
        extra = _convention_views(peer)
        if extra and not label:  # a peer scored both ways: say which line is which
            label = f" (both exclude_seen={str(peer.exclude_seen).lower()})"
        times = f"{ratio('time_to_best_s')} | {ratio('peak_rss_mb')} |"
        lines.append(f"| {peer.model} | {peer.side} | {ratio(metric, ours=ours_key)}{label} | {times}")
        for view in extra:
            flag = view.partition("=")[2] == "true"
            mine_key = f"{view}:{metric}" if f"{view}:{metric}" in mine.values else metric
            if mine_key == metric and mine.exclude_seen != flag:
                continue  # we were not scored under this convention
            lines.append(
                f"| {peer.model} | {peer.side} | {ratio(f'{view}:{metric}', ours=mine_key)} "
                f"(both {view}) | {times}"
            )
    return lines


def render_markdown(
    suite: Suite,
    results: Mapping[str, Any],
    out_dir: Path,
    *,
    plots: Mapping[str, str] | None = None,
) -> str:
    """The Markdown section of one suite (without the markers)."""
    records = results.get("records", [])
    rows = aggregate(records, suite)
    lines = [f"### {suite.name}", ""]
    if suite.description:
        lines += [suite.description + ".", ""]
    ok = [r for r in records if r.get("status") == "ok"]
    datasets = sorted({str(r.get("dataset")) for r in ok}) or [str(suite.data)]
    protocols = sorted({str(r.get("protocol")) for r in ok})
    splits = sorted({str(r.get("split_hash")) for r in ok if r.get("split_hash")})
    host = results.get("host") or {}
    commands = results.get("commands") or [results.get("command", "")]
    lines += [
        f"- Dataset: {', '.join(datasets)}; protocol: {', '.join(protocols)}; full ranking.",
        f"- Seeds: {sorted({int(r.get('seed', 0)) for r in ok})}; mean ± std over seeds.",
        "- Split fingerprint: "
        + (
            f"`{splits[0]}` (identical for every row, ours and peers)"
            if len(splits) == 1
            else ", ".join(f"`{s}`" for s in splits) or "–"
        ),
        f"- Machine: {host.get('processor', '?')}, {host.get('cpu_count', '?')} CPUs, "
        f"torch {host.get('torch', '?')} ({host.get('torch_threads', '?')} threads), "
        + (f"GPU {host['gpu']}, " if host.get("gpu") else "")
        + f"{host.get('platform', '?')}; load average at start "
        f"{host.get('load_avg_1m', '?')} (the cores are shared, so absolute times vary); "
        "timings compare only within this table.",
        "- Produced by: " + "; ".join(f"`{c}`" for c in commands if c),
        "",
    ]
    main_flag = bool(suite.eval.get("exclude_seen", True))
    for row in rows:
        if row.side != "ssl4rec" and row.exclude_seen is not None and row.exclude_seen != main_flag:
            row.tag = f"[exclude_seen {'on' if row.exclude_seen else 'off'}]"
    metric_cols = list(suite.columns) or sorted(
        {k for r in rows for k in r.values if "@" in k and not k.startswith(suite.beyond)}
    )
    columns = [(m, m, m.split("@")[0] in _LOWER_IS_BETTER_METRICS, 4) for m in metric_cols]
    metric_columns = list(columns)
    columns += [(key, head, True, 2 if key != "peak_rss_mb" else 0) for key, head in TIME_COLUMNS]
    lines += _table(rows, columns) + [""]
    for view in view_names(rows):
        if view == f"exclude_seen={str(suite.eval.get('exclude_seen', True)).lower()}":
            continue  # the main table
        title = _VIEW_TITLES.get(view, f"Test view `{view}`")
        lines += [f"{title}:", ""] + _table(view_rows(rows, view), metric_columns) + [""]
    beyond = [(m, m, m.split("@")[0] in _LOWER_IS_BETTER_METRICS, 4) for m in suite.beyond]
    if beyond:
        lines += ["Beyond accuracy:", ""] + _table(rows, beyond) + [""]
    lines += [
        "Best per column in **bold** (highest for metrics; lowest for times and memory). "
        "`fit s` includes validation during training; `to best s` is the training time "
        "until the best validation epoch (the whole fit for closed-form models); "
        "`peak MiB` is the peak resident memory of the cell's own process "
        "(`ru_maxrss`, including the interpreter and libraries).",
        "",
    ]
    sig = significance(suite, rows, out_dir)
    if sig is not None:
        lines += [
            f"Significance ({sig['metric']}, paired over {int(sig['num_users'])} test users, "
            f"per-user values averaged over seeds): **{sig['best']}** vs "
            f"{'baseline' if suite.paired else 'runner-up'} "
            f"{sig['runner_up']}: difference {sig['mean_diff']:+.4f} "
            f"(95% CI {sig['ci_low']:+.4f} to {sig['ci_high']:+.4f}), Wilcoxon "
            f"p = {sig['wilcoxon_p']:.3g}, paired t p = {sig['t_p']:.3g}.",
            "",
        ]
    conventions = sorted({(r.side, r.exclude_seen) for r in rows if r.exclude_seen is not None})
    if any(side != "ssl4rec" for side, _ in conventions):
        lines += ["exclude_seen (items of earlier parts masked before ranking):", ""]
        for side, flag in conventions:
            who = [r.model for r in rows if r.side == side and r.exclude_seen == flag]
            both = [r.model for r in rows if r.side == side and _convention_views(r)]
            mark = "yes" if flag else "no"
            if both and side != "ssl4rec" and set(who) <= set(both):
                mark += f" (main table) and {'no' if flag else 'yes'} (second table), one trained model"
            lines.append(f"- {side}: {mark} ({', '.join(who)})")
        lines.append("")
        ratio = _ratio_table(rows, suite.primary)
        if len(ratio) > 2:
            lines += ["Ours / peer on the same split and machine (commands: *Produced by* above):", ""]
            lines += ratio + [""]
    private = privacy_lines(records, suite.primary)
    if private:
        lines += [
            "Privacy (user-level DP; ε spent by the run, PRV accountant unless the entry says; "
            "membership-inference AUC on the 10% of users held out of training, "
            "`ssl4rec.privacy.audit`; share and time against the same model without noise):",
            "",
            *private,
            "",
        ]
    notes = [(e.label, e.notes) for e in suite.models if e.notes]
    notes += [(r.name, n) for r in rows for n in sorted(set(r.notes))]
    failures = [(r.name, f) for r in rows for f in r.failed]
    if notes or failures:
        lines += ["Notes:", ""]
        lines += [f"- {name}: {note}" for name, note in notes]
        lines += [f"- {name} failed: {_short(err)}" for name, err in failures]
        lines.append("")
    for title, path in (plots or {}).items():
        lines += [f"![{suite.name} {title}]({path})", ""]
    return "\n".join(lines).rstrip() + "\n"


_VIEW_TITLES = {
    "exclude_seen=false": "Same models, exclude_seen off (nothing masked: RecBole's convention "
    "for sequential models; peers evaluated that way are listed here)",
    "exclude_seen=true": "Same models, exclude_seen on (items of earlier parts masked)",
    "cold": "Cold-start targets (test events whose item was held out of training; "
    "ranked over the full catalog)",
    "warm": "Warm targets (the other test events of the cold-start split)",
}


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
