"""``ssl4rec bench scaling``: time per epoch and peak memory against the number of events.

Each cell (model variant × dataset) runs in its own process, so that ``ru_maxrss`` is
that cell's peak resident memory (data loading included). A training cell fits one
epoch on all events (no split, no validation) and reports the epoch's seconds;
EASE reports its closed-form fit; ``ingest`` only loads the file (the memory-bounded
events path). Synthetic logs (``ssl4rec.data.synth``) have ``events / 20`` users and
``events / 100`` items. The report fits a slope to log(seconds) against log(events)
over the synthetic sizes per variant and draws the log-log plot.

Cells that do not finish within the cell timeout are reported as such, never
estimated. Finished cells are kept in ``OUT/cells`` and not run again.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess  # nosec B404 - our own cell processes, argument lists without a shell
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "DATASETS",
    "MODELS",
    "SUITE_NAME",
    "default_cells",
    "render_markdown",
    "run_cell",
    "run_scaling",
    "write",
]

logger = logging.getLogger(__name__)

SUITE_NAME = "scaling"

MODELS: dict[str, dict[str, Any] | None] = {
    "sasrec-full": {"name": "sasrec", "max_seq_len": 50, "loss": "ce"},
    "sasrec-sampled": {
        "name": "sasrec",
        "max_seq_len": 50,
        "loss": "sampled_ce",
        "num_negatives": 256,
    },
    "multvae-dense": {"name": "multvae"},
    "multvae-sparse": {"name": "multvae", "sparse_input": True},
    "ease": {"name": "ease"},
    "ingest": None,
}
"""Variant label -> model section (``None``: only load the data)."""

_SHARED = "../shared/data"
DATASETS: dict[str, dict[str, Any]] = {
    "synth-1e5": {"synthetic": 100_000},
    "synth-3e5": {"synthetic": 300_000},
    "synth-1e6": {"synthetic": 1_000_000},
    "synth-1e7": {"synthetic": 10_000_000},
    "ml-100k": {"dataset": "ml-100k"},
    "amazon-scientific": {"path": f"{_SHARED}/amazon-scientific"},
    "ciao": {
        "path": f"{_SHARED}/ciao/ratings_with_timestamp.tsv",
        "format": "csv",
        "separator": "\t",
        "columns": {"user": "userid", "item": "productid", "timestamp": "timestamp"},
    },
}
"""Dataset label -> ``DataConfig`` fields, or ``{"synthetic": events}``."""


def default_cells() -> list[tuple[str, str]]:
    """The (dataset, variant) cells run by default, cheapest first.

    The 1e7 log is only ingested (an epoch of any model there takes far longer than
    a benchmark run on two shared cores); full-softmax SASRec stops at 3e5 synthetic
    events (10k items at 1e6 cost minutes per epoch) and is not run on Ciao (105k
    items: a 6,400 × 105k logit matrix per step); EASE runs everywhere and refuses
    Ciao's catalog itself (its items² memory), which the table shows.
    """
    cells = []
    for data in ("synth-1e5", "synth-3e5", "ml-100k", "amazon-scientific", "synth-1e6", "ciao"):
        for model in ("ingest", "multvae-dense", "multvae-sparse", "sasrec-sampled", "ease"):
            cells.append((data, model))
        if data in ("synth-1e5", "synth-3e5", "ml-100k", "amazon-scientific"):
            cells.append((data, "sasrec-full"))
    cells.append(("synth-1e7", "ingest"))
    return cells


# ---------------------------------------------------------------------- one cell
def _data_config(label: str, data_dir: Path) -> Any:
    from ssl4rec.data.synth import write_synthetic
    from ssl4rec.runner.experiment import DataConfig

    spec = dict(DATASETS[label])
    events = spec.pop("synthetic", None)
    if events is None:
        return DataConfig.from_section(spec)
    path = data_dir / f"{label}.parquet"
    if not path.is_file():
        write_synthetic(path, max(events // 20, 1), max(events // 100, 1), events, seed=0)
    columns = {"user": "user_id", "item": "item_id", "timestamp": "timestamp"}
    return DataConfig(dataset=None, path=str(path), columns=columns)


def run_cell(data_label: str, model_label: str, data_dir: Path) -> dict[str, Any]:
    """Load ``data_label``, train ``model_label`` for one epoch; the measurements.

    Returns:
        ``events``, ``users``, ``items``, ``load_s``, ``seconds`` (one epoch, the
        closed-form fit, or the load for ``ingest``), ``peak_mib``, ``status``.
    """
    from ssl4rec.bench.cell import peak_rss_mb
    from ssl4rec.errors import ConfigError
    from ssl4rec.runner import load_data

    start = time.perf_counter()
    data = load_data(_data_config(data_label, data_dir))
    load_s = time.perf_counter() - start
    record: dict[str, Any] = {
        "dataset": data_label,
        "model": model_label,
        "events": len(data),
        "users": data.num_users,
        "items": data.num_items,
        "load_s": round(load_s, 3),
    }
    section = MODELS[model_label]
    if section is None:
        record.update(seconds=round(load_s, 3), status="ok")
    else:
        from ssl4rec.models.registry import get_model_class
        from ssl4rec.training.config import TrainConfig

        params = {k: v for k, v in section.items() if k != "name"}
        model_class = get_model_class(section["name"])
        if not model_class.closed_form:
            params["epochs"] = 1
        model = model_class(**params)
        settings = TrainConfig(patience=None, progress=False, num_threads=1, checkpoint=False)
        try:
            start = time.perf_counter()
            model.fit(data, train_config=settings)
            seconds = time.perf_counter() - start
        except ConfigError as err:  # EASE's memory wall
            record.update(status="refused", error=str(err))
        else:
            if not model_class.closed_form:
                seconds = float(model.train_summary["seconds_per_epoch"])
            record.update(seconds=round(seconds, 3), status="ok")
    record["peak_mib"] = round(peak_rss_mb(), 1)
    return record


# ---------------------------------------------------------------------- the run
def run_scaling(
    out_dir: Path,
    cells: Sequence[tuple[str, str]],
    *,
    timeout_s: float = 600.0,
    data_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Run the cells not yet in ``out_dir/cells`` (each in a fresh process); all records."""
    cell_dir = out_dir / "cells"
    cell_dir.mkdir(parents=True, exist_ok=True)
    data_dir = data_dir or out_dir / "data"
    records = []
    for data_label, model_label in cells:
        path = cell_dir / f"{data_label}__{model_label}.json"
        if path.is_file():
            records.append(json.loads(path.read_text()))
            continue
        command = [sys.executable, "-m", "ssl4rec.bench.scaling", data_label, model_label]
        command += [str(data_dir), str(path)]
        logger.info("scaling cell %s / %s", data_label, model_label)
        try:
            proc = subprocess.run(  # nosec B603 - fixed argument list
                command, capture_output=True, text=True, timeout=timeout_s, check=False
            )
            if proc.returncode != 0 or not path.is_file():
                tail = "\n".join(proc.stderr.strip().splitlines()[-3:])
                record = {"status": "failed", "error": tail}
            else:
                record = json.loads(path.read_text())
        except subprocess.TimeoutExpired:
            record = {"status": "timeout", "error": f"not finished within {timeout_s:.0f} s"}
        record = {"dataset": data_label, "model": model_label, **record}
        if record["status"] == "timeout":  # kept (a rerun would time out again); failures retry
            path.write_text(json.dumps(record, indent=2))
        records.append(record)
        logger.info("scaling cell done: %s", record)
    return records


# ---------------------------------------------------------------------- report
def _slopes(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Per variant: the least-squares slope of log10 seconds on log10 events (synthetic)."""
    import numpy as np

    out = {}
    for model in MODELS:
        points = [
            (r["events"], r["seconds"])
            for r in records
            if r["model"] == model and r["status"] == "ok" and r["dataset"].startswith("synth")
        ]
        if len({e for e, _ in points}) >= 2:
            x, y = np.log10([p[0] for p in points]), np.log10([max(p[1], 1e-3) for p in points])
            out[model] = float(np.polyfit(x, y, 1)[0])
    return out


def render_markdown(records: Sequence[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The docs section: one row per cell, slopes, the plot."""
    slopes = _slopes(records)
    lines = [
        f"### {SUITE_NAME}",
        "",
        "One epoch on all events (no split), each cell in its own process; peak MiB is "
        "the cell's `ru_maxrss` (interpreter, libraries and data included). Synthetic "
        "logs: `events/20` users, `events/100` items, power-law popularity (seed 0).",
        "",
        f"- Machine: {meta['cpu_count']} CPUs, torch threads 1, load average "
        f"{meta['load_avg_1m']} when the report was written (cores shared; times vary "
        "between runs).",
        f"- Produced by: `{meta['command']}`",
        "",
        "| dataset | variant | events | users | items | s / epoch (fit, load) | peak MiB | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        ok = r["status"] == "ok"
        seconds = f"{r['seconds']:.2f}" if ok else "–"
        peak = f"{r['peak_mib']:.0f}" if "peak_mib" in r else "–"
        status = r["status"]
        if not ok and r.get("error"):
            status += f": {r['error'].splitlines()[-1][:140]}"
        lines.append(
            f"| {r['dataset']} | {r['model']} | {r.get('events', '–')} | {r.get('users', '–')} "
            f"| {r.get('items', '–')} | {seconds} | {peak} | {status} |"
        )
    lines += ["", "Fitted slope of log(seconds) on log(events), synthetic sizes:", ""]
    if slopes:
        lines += ["| variant | slope |", "|---|---|"]
        lines += [f"| {m} | {s:.2f} |" for m, s in slopes.items()]
    else:
        lines.append("(fewer than two synthetic sizes measured)")
    lines += ["", f"![scaling]({meta['plot']})", ""]
    return "\n".join(lines)


def _plot(records: Sequence[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    slopes = _slopes(records)
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for model in MODELS:
        done = [r for r in records if r["model"] == model and r["status"] == "ok"]
        synth = sorted(
            (r["events"], r["seconds"]) for r in done if r["dataset"].startswith("synth")
        )
        real = [r for r in done if not r["dataset"].startswith("synth")]
        if not done:
            continue
        label = model + (f" (slope {slopes[model]:.2f})" if model in slopes else "")
        (line,) = ax.loglog([p[0] for p in synth], [p[1] for p in synth], "o-", label=label)
        for r in real:  # real datasets: unconnected crosses, named
            ax.loglog([r["events"]], [r["seconds"]], "x", color=line.get_color(), ms=8)
            ax.annotate(r["dataset"], (r["events"], r["seconds"]), fontsize=6, alpha=0.7)
    ax.set_xlabel("events (lines: synthetic logs; crosses: real datasets)")
    ax.set_ylabel("seconds per epoch (EASE: fit; ingest: load)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(
    records: Sequence[dict[str, Any]], out_dir: Path, command: str, docs: Path | None
) -> Path:
    """Write ``results.json``, ``report.md`` and the plot; update ``docs``'s section."""
    from ssl4rec.bench.report import update_doc

    out_dir.mkdir(parents=True, exist_ok=True)
    plot_name = "bench-scaling.png"
    plot = (docs.parent if docs is not None else out_dir) / plot_name
    _plot(records, plot)
    meta = {
        "command": command,
        "cpu_count": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "plot": plot_name,
    }
    (out_dir / "results.json").write_text(json.dumps({"meta": meta, "cells": records}, indent=2))
    body = render_markdown(records, meta)
    report = out_dir / "report.md"
    report.write_text(body, encoding="utf-8")
    if docs is not None:
        update_doc(docs, SUITE_NAME, body)
    return report


def main(argv: list[str] | None = None) -> int:
    """Cell process: ``python -m ssl4rec.bench.scaling DATA MODEL DATA_DIR OUT.json``."""
    args = list(sys.argv[1:] if argv is None else argv)
    data_label, model_label, data_dir, out = args
    record = run_cell(data_label, model_label, Path(data_dir))
    Path(out).write_text(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    raise SystemExit(main())
