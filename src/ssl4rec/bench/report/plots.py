"""Benchmark report plots (PNG, matplotlib with the Agg backend).

Metric bars with error bars, accuracy vs training time, the primary metric per test
subset (e.g. cold and warm targets) and beyond-accuracy metrics per model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ssl4rec.bench.report.tables import Row, view_names, view_rows
from ssl4rec.bench.suite import Suite

__all__ = ["OURS_COLOR", "PEER_COLOR", "write_plots"]

OURS_COLOR, PEER_COLOR = "#4C72B0", "#DD8452"


def write_plots(suite: Suite, rows: Sequence[Row], folder: Path) -> dict[str, Path]:
    """Write the suite's PNG plots into ``folder``; return title -> path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    folder.mkdir(parents=True, exist_ok=True)
    rows = [r for r in rows if r.seeds]
    if not rows:
        return {}
    colors = [OURS_COLOR if r.side == "ssl4rec" else PEER_COLOR for r in rows]
    out: dict[str, Path] = {}

    metrics = list(suite.columns[:4]) or [suite.primary]
    out["metrics"] = _bar_figure(
        [(rows, metric, colors, metric) for metric in metrics],
        f"{suite.name}: mean ± std over seeds (orange: peer)",
        folder / f"bench-{suite.name}-metrics.png",
    )

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for row, color in zip(rows, colors, strict=True):
        x, y = row.mean("fit_s"), row.mean(suite.primary)
        if math.isnan(x) or math.isnan(y):
            continue
        ax.errorbar(x, y, xerr=row.std("fit_s"), yerr=row.std(suite.primary), fmt="o", color=color)
        ax.annotate(row.name, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on short spans
    ax.set_xlabel("training time, s (log)")
    ax.set_ylabel(suite.primary)
    ax.set_title(f"{suite.name}: accuracy vs training time")
    fig.tight_layout()
    out["accuracy vs time"] = _save(fig, folder / f"bench-{suite.name}-tradeoff.png")

    subsets = [v for v in view_names(rows) if not v.startswith("exclude_seen=")]
    if subsets:  # e.g. cold and warm targets: the primary metric on each, side by side
        out["per test subset"] = _bar_figure(
            [
                (
                    view_rows(rows, view),
                    suite.primary,
                    OURS_COLOR,
                    f"{view} targets: {suite.primary}",
                )
                for view in subsets
            ],
            f"{suite.name}: {suite.primary} per test subset, mean ± std over seeds",
            folder / f"bench-{suite.name}-subsets.png",
            panel_width=4.6,
        )

    beyond = [m for m in suite.beyond if any(not math.isnan(r.mean(m)) for r in rows)]
    if beyond:
        out["beyond accuracy"] = _bar_figure(
            [(rows, metric, colors, metric) for metric in beyond],
            f"{suite.name}: beyond accuracy (– where a side has no such metric)",
            folder / f"bench-{suite.name}-beyond.png",
        )
    return out


def _bar_figure(
    panels: Sequence[tuple[Sequence[Row], str, Any, str]],
    title: str,
    path: Path,
    *,
    panel_width: float = 4.2,
) -> Path:
    """One row of bar panels, each ``(rows, metric, color, panel title)``, saved to ``path``."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(panels), figsize=(panel_width * len(panels), 4.2), squeeze=False
    )
    for ax, (shown, metric, color, panel_title) in zip(axes[0], panels, strict=True):
        _bars(ax, shown, metric, color, panel_title)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def _bars(ax: Any, rows: Sequence[Row], metric: str, color: Any, title: str) -> None:
    """One panel: ``metric`` per row, mean ± std over seeds, rows named on the x axis."""
    means = [r.mean(metric) for r in rows]
    stds = [r.std(metric) for r in rows]
    ax.bar(range(len(rows)), means, yerr=stds, color=color, capsize=3)
    ax.set_xticks(range(len(rows)), [r.name for r in rows], rotation=60, ha="right", fontsize=8)
    ax.set_title(title)


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
