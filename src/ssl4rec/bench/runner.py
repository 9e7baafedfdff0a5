"""Run a benchmark suite: every (model, seed) cell in its own process, resumable.

Layout of the output folder::

    OUT/suite.yaml                    the suite as run (after CLI selections)
    OUT/results.json                  one record per cell (ours and peers')
    OUT/cells/<cell>/spec.json        what the cell process was asked to run
    OUT/cells/<cell>/record.json      its record (status ok / failed, metrics, timings)
    OUT/cells/<cell>/per_user.npz     per-user test metric values (significance tests)
    OUT/cells/<cell>/log.txt          the cell's log

A cell whose ``record.json`` says ``ok`` (or ``failed``, unless ``retry_failed``) and
whose config hash is unchanged is not run again, so an interrupted suite resumes
where it stopped.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ssl4rec.bench.suite import ModelEntry, Suite, cell_id, config_hash
from ssl4rec.config.yaml_io import dump_yaml
from ssl4rec.errors import ConfigError

__all__ = ["SuiteRun", "load_results", "run_suite"]

logger = logging.getLogger(__name__)

RESULTS_FILE = "results.json"


@dataclass
class SuiteRun:
    """What ``run_suite`` did."""

    records: list[dict[str, Any]]
    ran: list[str]
    """Cells run this time."""
    skipped: list[str]
    """Cells already finished (resumed)."""
    out_dir: Path

    @property
    def failed(self) -> list[str]:
        """Labels of the cells whose status is not ``ok``."""
        return [r["cell"] for r in self.records if r.get("status") != "ok"]


def run_suite(
    suite: Suite,
    out_dir: str | Path,
    *,
    peers: Sequence[str] = (),
    retry_failed: bool = False,
    command: str = "",
    python: str | None = None,
    peer_options: dict[str, Any] | None = None,
) -> SuiteRun:
    """Validate ``suite``, then run each cell not already finished in ``out_dir``.

    Args:
        suite: the suite (already narrowed by ``select`` / ``with_seeds``).
        out_dir: results folder (created).
        peers: peer libraries to run beside ours, e.g. ``["recbole"]``.
        retry_failed: run again cells recorded as failed.
        command: the command line, stored with the results.
        python: interpreter for the cell processes (default: this one).
        peer_options: options handed to the peer harness (e.g. ``venv``,
            ``time_budget_s``).

    Returns:
        A ``SuiteRun`` with every record of the suite (old and new).

    Raises:
        ConfigError: the suite is invalid (nothing has run then).
    """
    cells = suite.validate()
    peer_cells = _peer_cells(suite, peers)
    out = Path(out_dir)
    (out / "cells").mkdir(parents=True, exist_ok=True)
    dump_yaml(_suite_dict(suite), out / "suite.yaml")
    python = python or sys.executable
    ran: list[str] = []
    skipped: list[str] = []
    records: dict[str, dict[str, Any]] = {}
    meta = {"suite": suite.name, "command": command, "host": host_info()}

    for label in [e.label for e in suite.models]:  # per model: our seeds, then peers'
        for entry, seed, config in cells:
            if entry.label != label:
                continue
            experiment = suite.experiment_dict(entry, seed)
            cid = cell_id(entry.label, seed)
            base = _record_base(suite, entry, seed, "ssl4rec", config, experiment)
            old = _finished(out / "cells" / cid, base["config_hash"], retry_failed)
            if old is not None:
                skipped.append(cid)
                records[cid] = old
                continue
            logger.info("cell %s: running %s seed=%d", cid, entry.model_name, seed)
            record = _run_cell_process(
                python, out / "cells" / cid, experiment, base, entry.timeout_s, entry.nproc
            )
            _log_record(record)
            ran.append(cid)
            records[cid] = record
            _write_results(out, meta, records)
        for peer, entry, seed in peer_cells:
            if entry.label != label:
                continue
            from ssl4rec.bench import peers as peer_pkg

            experiment = suite.experiment_dict(entry, seed)
            cid = cell_id(entry.label, seed, side=peer)
            spec = entry.peers[peer]
            hashed = {"ours": peer_inputs(experiment), "peer": spec}
            base = _record_base(suite, entry, seed, peer, None, hashed)
            old = _finished(out / "cells" / cid, base["config_hash"], retry_failed)
            if old is not None:
                skipped.append(cid)
                records[cid] = old
                continue
            logger.info("cell %s: running peer %s model %s", cid, peer, spec.get("model"))
            record = peer_pkg.run_peer_cell(
                peer,
                suite=suite,
                entry=entry,
                seed=seed,
                cell_dir=out / "cells" / cid,
                work_dir=out / "peers" / peer,
                base=base,
                options=peer_options or {},
            )
            _log_record(record)
            ran.append(cid)
            records[cid] = record
            _write_results(out, meta, records)

    _write_results(out, meta, records)
    return SuiteRun(records=list(records.values()), ran=ran, skipped=skipped, out_dir=out)


def load_results(out_dir: str | Path) -> dict[str, Any]:
    """``results.json`` of a suite run.

    Raises:
        ConfigError: no results in ``out_dir``.
    """
    path = Path(out_dir) / RESULTS_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: no benchmark results here; run `ssl4rec bench SUITE` first")
    return json.loads(path.read_text(encoding="utf-8"))


def host_info() -> dict[str, Any]:
    """Machine facts stored with results (timings only compare on the same machine)."""
    import torch

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "processor": platform.processor() or platform.machine(),
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


# ---------------------------------------------------------------------- helpers
def _peer_cells(suite: Suite, peers: Sequence[str]) -> list[tuple[str, ModelEntry, int]]:
    from ssl4rec.bench.peers import PEERS

    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        raise ConfigError(f"--peer must be one of {sorted(PEERS)}; got {unknown[0]!r}")
    cells: list[tuple[str, ModelEntry, int]] = []
    for peer in peers:
        for entry in suite.models:
            if peer not in entry.peers:
                logger.info("peer %s: no counterpart declared for %s; skipped", peer, entry.label)
                continue
            wanted = entry.peers[peer].get("seeds", suite.seeds)
            if not isinstance(wanted, list | tuple) or not all(
                isinstance(s, int) and not isinstance(s, bool) for s in wanted
            ):
                raise ConfigError(
                    f"{entry.label}: peers.{peer}.seeds must be a list of integers; got {wanted!r}"
                )
            cells.extend((peer, entry, seed) for seed in suite.seeds if seed in wanted)
    return cells


# The fields of our model section that a peer cell reads (the rest of our model's
# hyperparameters do not change what the peer runs, so they stay out of its hash).
PEER_MODEL_FIELDS = ("seed", "epochs", "max_seq_len")


def peer_inputs(experiment: dict[str, Any]) -> dict[str, Any]:
    """The part of our cell's experiment that a peer cell of the same entry depends on."""
    out = {key: value for key, value in experiment.items() if key != "model"}
    model = experiment.get("model") or {}
    out["model"] = {key: model[key] for key in PEER_MODEL_FIELDS if key in model}
    return out


def _record_base(
    suite: Suite,
    entry: ModelEntry,
    seed: int,
    side: str,
    config: Any,
    hashed: dict[str, Any],
) -> dict[str, Any]:
    data = suite.data
    return {
        "suite": suite.name,
        "cell": cell_id(entry.label, seed, side),
        "side": side,
        "model": entry.label,
        "model_name": entry.model_name,
        "seed": int(seed),
        "dataset": data.get("dataset") or data.get("path"),
        "protocol": suite.split.get("protocol", "temporal_ratio"),
        "config": config.to_dict() if config is not None else hashed,
        "config_hash": config_hash(hashed),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def _finished(cell_dir: Path, expected_hash: str, retry_failed: bool) -> dict[str, Any] | None:
    path = cell_dir / "record.json"
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None
    if record.get("config_hash") != expected_hash:
        logger.info("cell %s: config changed since the last run; running again", cell_dir.name)
        return None
    status = record.get("status")
    if status == "ok" or (status == "failed" and not retry_failed):
        logger.info("cell %s: already %s; skipped", cell_dir.name, status)
        return record
    return None


def _run_cell_process(
    python: str,
    cell_dir: Path,
    experiment: dict[str, Any],
    base: dict[str, Any],
    timeout_s: float | None,
    nproc: int = 1,
) -> dict[str, Any]:
    cell_dir.mkdir(parents=True, exist_ok=True)
    (cell_dir / "record.json").unlink(missing_ok=True)
    spec = {"experiment": experiment, "record": base, "cell_dir": str(cell_dir)}
    spec_path = cell_dir / "spec.json"
    spec_path.write_text(json.dumps(spec, indent=2, default=str), encoding="utf-8")
    start = time.perf_counter()
    error: str | None = None
    with open(cell_dir / "log.txt", "w", encoding="utf-8") as log:
        try:
            # list args (bandit B603)
            launch = [python, "-m", "ssl4rec.bench.cell"]
            if nproc > 1:  # data-parallel: torchrun starts the ranks, rank 0 records
                launch = [python, "-m", "torch.distributed.run", "--standalone"]
                launch += ["--nproc-per-node", str(nproc), "-m", "ssl4rec.bench.cell"]
            # its own process group, so that a timeout also stops torchrun's workers
            proc = subprocess.Popen(  # nosec B603
                [*launch, str(spec_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            returncode: int | None = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            returncode = None
            error = f"timeout: the cell ran past timeout_s={timeout_s:g} s and was stopped"
    process_s = time.perf_counter() - start
    record_path = cell_dir / "record.json"
    record: dict[str, Any] | None = None
    if record_path.is_file():
        record = json.loads(record_path.read_text(encoding="utf-8"))
    if record is None:
        tail = _tail(cell_dir / "log.txt")
        record = {
            **base,
            "status": "failed",
            "error": error or f"the cell process exited with code {returncode}: {tail}",
        }
    record["process_s"] = round(process_s, 3)
    record_path.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
    return record


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def _log_record(record: dict[str, Any]) -> None:
    if record.get("status") == "ok":
        metrics = record.get("metrics") or {}
        shown = " ".join(f"{k}={v:.4f}" for k, v in list(metrics.items())[:3])
        logger.info(
            "cell %s: ok %s fit=%.1fs peak=%.0fMiB",
            record["cell"],
            shown,
            record.get("fit_s") or 0.0,
            record.get("peak_rss_mb") or 0.0,
        )
    else:
        logger.warning("cell %s: FAILED %s", record["cell"], record.get("error"))


def _write_results(out: Path, meta: dict[str, Any], records: dict[str, dict[str, Any]]) -> None:
    previous: dict[str, Any] = {}
    path = out / RESULTS_FILE
    if path.is_file():  # keep cells of models not selected this time (e.g. --models)
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            previous = {}
    merged = {r["cell"]: r for r in previous.get("records", []) if "cell" in r}
    merged.update(records)
    commands = list(previous.get("commands", []))
    if meta.get("command") and meta["command"] not in commands:
        commands.append(meta["command"])
    data = {
        **meta,
        "commands": commands,
        "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "records": list(merged.values()),
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def _suite_dict(suite: Suite) -> dict[str, Any]:
    return {
        "name": suite.name,
        "description": suite.description,
        "data": suite.data,
        "split": suite.split,
        "train": suite.train,
        "eval": suite.eval,
        "seeds": list(suite.seeds),
        "report": {
            "primary": suite.primary,
            "columns": list(suite.columns),
            "beyond": list(suite.beyond),
        },
        "models": [
            {
                "label": e.label,
                "model": e.model,
                **({"train": e.train} if e.train else {}),
                **({"tune": e.tune} if e.tune else {}),
                **({"timeout_s": e.timeout_s} if e.timeout_s else {}),
                **({"peers": e.peers} if e.peers else {}),
                **({"ours": False} if not e.ours else {}),
            }
            for e in suite.models
        ],
    }
