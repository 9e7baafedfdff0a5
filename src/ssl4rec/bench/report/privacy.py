"""The privacy part of a suite's report: NDCG@10 and audit AUC per ε, and the plot.

Cells whose record has ``privacy`` (the suite entry had a ``privacy`` section) get
one row each: the ε spent, the primary metric and its share of the same model's
non-private row (the entry whose ε is null), the membership-inference AUC of both
attacks with their bootstrap 95% intervals, and the training time relative to the
non-private row. The plot draws the primary metric against ε per model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["privacy_lines", "privacy_plot"]


def _cells(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in records if r.get("status") == "ok" and r.get("privacy") is not None]


def _eps(record: Mapping[str, Any]) -> float:
    eps = record["privacy"].get("epsilon")
    return math.inf if eps is None else float(eps)


def _mean(values: Sequence[float | None]) -> float:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(vals)) if vals else math.nan


def _model_settings(record: Mapping[str, Any]) -> dict[str, str]:
    model = (record.get("config") or {}).get("model") or {}
    return {str(k): repr(v) for k, v in model.items()}


def _non_private(cells: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """The rows (cells grouped by label) trained without noise, Pop aside."""
    by_label: dict[str, list[Mapping[str, Any]]] = {}
    for r in cells:
        by_label.setdefault(str(r["model"]), []).append(r)
    return [
        group
        for group in by_label.values()
        if all(_eps(r) == math.inf for r in group) and group[0].get("model_name") != "pop"
    ]


def _reference(
    record: Mapping[str, Any], plain: Sequence[Sequence[Mapping[str, Any]]]
) -> Sequence[Mapping[str, Any]] | None:
    """The non-private row (its cells) that ``record`` is measured against.

    Among the non-private rows of the same model name, the one whose model settings
    agree with the record's on the most fields (a suite may hold, say, SASRec with
    the full and with a sampled softmax, each without noise).
    """
    name = record.get("model_name")
    same = [g for g in plain if g[0].get("model_name") == name]
    if not same:
        return None
    mine = _model_settings(record).items()
    return max(same, key=lambda g: len(mine & _model_settings(g[0]).items()))


def privacy_lines(records: Sequence[Mapping[str, Any]], primary: str) -> list[str]:
    """Markdown lines of the privacy table (empty when no cell has ``privacy``)."""
    cells = _cells(records)
    if not cells:
        return []
    by_label: dict[str, list[Mapping[str, Any]]] = {}
    for r in cells:
        by_label.setdefault(str(r["model"]), []).append(r)
    plain = _non_private(cells)
    lines = [
        f"| model | ε spent | δ | σ | steps | {primary} | share of non-private | "
        "loss-attack AUC [95% CI] | calibrated-attack AUC [95% CI] | fit s | fit time × |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, group in by_label.items():
        r0 = group[0]
        spent = r0["privacy"]
        eps = (
            _eps(r0) if all(_eps(r) == math.inf for r in group) else _mean([_eps(r) for r in group])
        )
        values = [float(r["metrics"][primary]) for r in group]
        metric = _mean(values)
        spread = f" ± {np.std(values):.4f}" if len(group) > 1 else ""
        fit = _mean([r.get("fit_s") for r in group])
        share = slower = "—"
        ref = _reference(r0, plain)
        if ref is not None and math.isfinite(eps):
            ref_metric = _mean([r["metrics"][primary] for r in ref])
            ref_fit = _mean([r.get("fit_s") for r in ref])
            share = f"{metric / ref_metric:.0%}"
            slower = f"{fit / ref_fit:.1f}" if ref_fit > 0 else "—"
        aucs = [_auc(group, attack) for attack in ("loss_threshold", "calibrated")]
        seeds = f" ({len(group)} seeds)" if len(group) > 1 else ""
        lines.append(
            f"| {label}{seeds} | {'∞ (no noise)' if eps == math.inf else f'{eps:.3g}'} | "
            f"{_num(spent.get('delta'))} | {_num(spent.get('noise_multiplier'))} | "
            f"{spent.get('steps', '—')} | {metric:.4f}{spread} | {share} | {aucs[0]} | "
            f"{aucs[1]} | {fit:.1f} | {slower} |"
        )
    if any(len(g) > 1 for g in by_label.values()):
        lines += [
            "",
            f"With several seeds: {primary} is mean ± std; an AUC is the mean over seeds "
            "and its interval the mean of the seeds' bootstrap bounds. σ and steps are the "
            "first seed's (they depend on the seed only through Poisson sampling).",
        ]
    return lines


def _auc(group: Sequence[Mapping[str, Any]], attack: str) -> str:
    """One attack's AUC [95% CI] for a row, averaged over its seeds."""
    found = [(r.get("audit") or {}).get(attack) for r in group]
    results = [a for a in found if a]
    if not results:
        return "—"
    auc = float(np.mean([a["auc"] for a in results]))
    low = float(np.mean([a["ci95"][0] for a in results]))
    high = float(np.mean([a["ci95"][1] for a in results]))
    return f"{auc:.3f} [{low:.3f}, {high:.3f}]"


def _num(value: Any) -> str:
    return "—" if value is None else f"{float(value):.3g}"


def privacy_plot(
    records: Sequence[Mapping[str, Any]], primary: str, path: Path, title: str
) -> Path | None:
    """``primary`` against ε per model (ε = ∞ drawn at the right); ``None`` without cells."""
    cells = _cells(records)
    if not cells:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # ticks at the spent ε rounded to 2 digits (runs of one target land on one tick)
    finite = sorted({float(f"{_eps(r):.2g}") for r in cells if math.isfinite(_eps(r))})
    inf_x = (max(finite) if finite else 1.0) * 4
    # one line per model; where a model has several non-private rows (say, two
    # losses), one line per such row, with the private rows measured against it
    plain = _non_private(cells)
    names = [str(g[0].get("model_name")) for g in plain]
    series: dict[str, dict[float, list[float]]] = {}
    for r in cells:
        key = str(r.get("model_name"))
        if names.count(key) > 1 and _eps(r) == math.inf:
            key = str(r["model"])
        elif names.count(key) > 1:
            ref = _reference(r, plain)
            key = str(ref[0]["model"]) if ref else key
        series.setdefault(key, {}).setdefault(_eps(r), []).append(float(r["metrics"][primary]))
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, points in sorted(series.items()):
        xs = sorted(points)
        ys = [_mean(points[x]) for x in xs]
        xs_plot = [inf_x if x == math.inf else x for x in xs]
        ax.plot(
            xs_plot,
            ys,
            marker="o",
            linestyle="--" if name in ("pop", "dp-pop") else "-",
            label=name,
        )
    ticks = [*finite, inf_x]
    ax.set_xscale("log")
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in finite] + ["∞"])
    ax.minorticks_off()
    ax.set_xlabel("ε (user-level; ∞ = no noise)")
    ax.set_ylabel(primary)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
