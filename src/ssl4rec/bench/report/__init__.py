"""Benchmark report: Markdown tables, significance test, plots, docs sections.

``write_report`` reads a suite's ``results.json`` (one record per cell) and writes
``report.md`` with its plots, and optionally the suite's section of a docs page:

- ``tables``: rows over seeds, the Markdown tables and the significance test;
- ``plots``: the PNG plots;
- ``docs``: the marked section of a Markdown file.
"""

from __future__ import annotations

import os
from pathlib import Path

from ssl4rec.bench.report.docs import markers, update_doc
from ssl4rec.bench.report.plots import write_plots
from ssl4rec.bench.report.tables import (
    TIME_COLUMNS,
    Row,
    aggregate,
    render_markdown,
    significance,
    view_names,
    view_rows,
)
from ssl4rec.bench.suite import Suite

__all__ = [
    "TIME_COLUMNS",
    "Row",
    "aggregate",
    "markers",
    "render_markdown",
    "significance",
    "update_doc",
    "view_names",
    "view_rows",
    "write_plots",
    "write_report",
]


def write_report(suite: Suite, out_dir: str | Path, *, docs: str | Path | None = None) -> Path:
    """Write ``OUT/report.md`` and plots; with ``docs``, regenerate its suite section.

    Plots go next to ``docs`` (``bench-SUITE-*.png``) when it is given, else to
    ``OUT/plots``.

    Returns:
        The path of ``report.md``.
    """
    from ssl4rec.bench.runner import load_results

    out = Path(out_dir)
    results = load_results(out)
    rows = aggregate(results.get("records", []), suite)
    plot_dir = Path(docs).parent if docs is not None else out / "plots"
    plots = write_plots(suite, rows, plot_dir)
    base = Path(docs).parent if docs is not None else out
    rel = {title: os.path.relpath(p, base) for title, p in plots.items()}
    from ssl4rec.bench.report.privacy import privacy_plot

    records = results.get("records", [])
    title = f"{suite.name}: {suite.primary} against ε"
    eps_plot = privacy_plot(records, suite.primary, plot_dir / f"bench-{suite.name}-epsilon.png", title)
    if eps_plot is not None:
        plots["ndcg against epsilon"] = eps_plot
        rel["ndcg against epsilon"] = os.path.relpath(eps_plot, base)
    body = render_markdown(suite, results, out, plots=rel)
    if docs is not None:
        update_doc(docs, suite.name, body)
        report_rel = {title: os.path.relpath(p, out) for title, p in plots.items()}
        body = render_markdown(suite, results, out, plots=report_rel)
    report = out / "report.md"
    report.write_text(body, encoding="utf-8")
    return report
