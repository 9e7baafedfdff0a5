"""Plain-text tables and JSON output for the CLI."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import typer


def format_table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """Left-aligned first column, right-aligned numbers, 4 decimals."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "nan" if math.isnan(v) else f"{v:.4f}"
        return str(v)

    table = [list(map(str, header))] + [[cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    numeric = [
        all(isinstance(row[i], (int, float)) for row in rows) and bool(rows)
        for i in range(len(header))
    ]
    lines = []
    for n, row in enumerate(table):
        parts = [
            c.rjust(w) if numeric[i] else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def metrics_table(results: Mapping[str, Mapping[str, float]]) -> str:
    """Format ``model -> metric -> value`` as a table, one row per model."""
    names: list[str] = []
    for metrics in results.values():
        for name in metrics:
            if name not in names:
                names.append(name)
    rows = [[model, *(metrics.get(n, float("nan")) for n in names)] for model, metrics in results.items()]
    return format_table(rows, ["model", *names])


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))
