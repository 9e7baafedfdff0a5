"""One benchmark cell in its own process: ``python -m ssl4rec.bench.cell SPEC.json``.

Running each (model, seed) in a fresh process makes ``ru_maxrss`` the peak memory of
that cell alone and keeps a crash from taking the suite down. The process writes
``record.json`` (and ``per_user.npz`` with the per-user metric values used by the
significance test) into the spec's ``cell_dir``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["peak_rss_mb", "run_cell", "split_fingerprint"]

logger = logging.getLogger(__name__)


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (``ru_maxrss`` is KiB on Linux)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0 * 1024.0) if sys.platform == "darwin" else rss / 1024.0


def split_fingerprint(split: Any) -> str:
    """Hash of the split's (user, item) pairs per part: equal hashes, equal splits."""
    digest = hashlib.sha256()
    for part in (split.train, split.valid, split.test):
        digest.update(np.ascontiguousarray(part.users, dtype=np.int64).tobytes())
        digest.update(np.ascontiguousarray(part.items, dtype=np.int64).tobytes())
        digest.update(b"|")
    return digest.hexdigest()[:16]


def run_cell(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one cell and write its record; never raises for a failing model.

    Args:
        spec: ``experiment`` (plain experiment data), ``record`` (fields copied into
            the record) and ``cell_dir`` (output folder).

    Returns:
        The record (also written to ``cell_dir/record.json``).
    """
    from ssl4rec.runner import load_data, make_experiment_split, run_experiment
    from ssl4rec.runner.experiment import ExperimentConfig

    cell_dir = Path(spec["cell_dir"])
    cell_dir.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {**spec["record"], "status": "running", "error": None}
    start = time.perf_counter()
    try:
        config = ExperimentConfig.from_dict(spec["experiment"])
        split = make_experiment_split(load_data(config.data), config.split)
        load_seconds = time.perf_counter() - start
        result = run_experiment(config, split=split)
        summary = dict(getattr(result.model, "train_summary", None) or {})
        metrics = {k: float(v) for k, v in result.test.metrics.items()}
        iterative = bool(summary)
        record.update(
            status="ok",
            metrics=metrics,
            valid_metrics=(
                {k: float(v) for k, v in result.valid.metrics.items()} if result.valid else None
            ),
            eval_protocol=result.test.protocol,
            exclude_seen=bool(result.test.exclude_seen),
            num_test_users=int(result.test.num_users),
            split_hash=split_fingerprint(split),
            split_summary=split.summary(),
            load_s=round(load_seconds, 4),
            fit_s=round(result.fit_seconds, 4),
            eval_s=round(result.eval_seconds, 4),
            # closed-form models have no epochs: their best (only) model exists after fit
            seconds_per_epoch=summary.get("seconds_per_epoch") if iterative else None,
            time_to_best_s=summary.get("time_to_best_s") if iterative else result.fit_seconds,
            best_epoch=summary.get("best_epoch"),
            epochs_run=summary.get("epochs_run"),
            stopped_reason=summary.get("stopped_reason"),
            tuning=result.tuning,
            views={
                name: {k: float(v) for k, v in view.metrics.items()}
                for name, view in result.views.items()
            },
            time_budget_s=getattr(config.train, "time_budget_s", None),
            processes=summary.get("processes", 1),
        )
        if config.privacy is not None:
            record["privacy"] = result.privacy_metrics()
            if result.nonmembers is not None:
                from ssl4rec.privacy.audit import audit_membership

                audit_start = time.perf_counter()
                record["audit"] = audit_membership(
                    result.model,
                    result.split.train,
                    result.nonmembers,
                    seed=config.privacy.holdout_seed,
                )
                record["audit_s"] = round(time.perf_counter() - audit_start, 4)
        bad = sorted(k for k, v in metrics.items() if not math.isfinite(v))
        if bad:
            record.update(status="failed", error=f"non-finite test metrics: {bad}")
        per_user = {
            f"m:{k}": np.asarray(v, dtype=np.float64) for k, v in result.test.per_user.items()
        }
        np.savez_compressed(
            cell_dir / "per_user.npz",
            users=np.asarray(result.test.users, dtype=np.int64),
            **per_user,  # type: ignore[arg-type]
        )
    except Exception as err:  # noqa: BLE001 - a failed cell is data, not a crash
        logger.error("cell failed: %s", err)
        record.update(
            status="failed",
            error=f"{type(err).__name__}: {err}",
            traceback=traceback.format_exc(limit=8),
        )
    record["wall_s"] = round(time.perf_counter() - start, 4)
    record["peak_rss_mb"] = round(peak_rss_mb(), 1)
    record["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    if int(os.environ.get("RANK", "0")) == 0:  # a data-parallel cell: rank 0 records
        _write_json(cell_dir / "record.json", record)
    return record


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the cell process."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m ssl4rec.bench.cell SPEC.json\n")
        return 2
    root = logging.getLogger("ssl4rec")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    spec = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    record = run_cell(spec)
    return 0 if record["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
