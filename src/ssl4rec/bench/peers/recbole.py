"""RecBole 1.2.1 as a peer: its models on our exact split, in its own virtual env.

How a peer cell runs:

1. our split (the suite's data, preprocessing and protocol) is written as RecBole
   atomic *benchmark files* ``<name>.train.inter``, ``<name>.valid.inter`` and
   ``<name>.test.inter``, read by RecBole with ``benchmark_filename: [train, valid,
   test]`` so it does not re-split;
2. a separate virtual env (default ``$SSL4REC_HOME/peers/recbole-venv``) holds
   ``torch==2.13.0`` (installed first: the CPU build on this machine's index),
   ``recbole==1.2.1 --no-deps`` and what RecBole needs to import (numpy 1.26.4 for
   ``np.float_``, scipy 1.12.0 for ``dok_matrix._update``, faiss-cpu for NCL; no
   ``ray``);
3. a small driver (``_recbole_driver.py``) runs ``run_recbole``'s steps directly in
   that env, keeps the best checkpoint in memory (no ``torch.load`` under torch
   2.13's ``weights_only`` default), honours a time budget, and writes metrics,
   timings and its peak memory as JSON, which become the cell's record.

Conventions (stated in the report): for general (non-sequential) models RecBole's
full-sort evaluation masks the user's earlier items (train, and valid for test),
like our ``exclude_seen=True``; for sequential models it masks nothing. So for a
sequential model the driver also writes the score rows of RecBole's final test
evaluation, and the harness ranks them with our evaluator under both conventions
(``ssl4rec.bench.peers.scores``): the record's ``metrics`` follow the suite's
``exclude_seen`` and ``views`` hold the other one, both from the one trained model.
RecBole's own (unmasked) test numbers stay in ``recbole_metrics``. Its early stop
still monitors its own, unmasked validation (``valid_exclude_seen: false``).

Install: ``pip install 'ssl4rec[peers]'`` is not needed for the harness itself (it
creates RecBole's env on first use); the extra only documents the pinned versions.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ssl4rec.errors import ConfigError, Ssl4recError

if TYPE_CHECKING:
    from ssl4rec.bench.suite import ModelEntry, Suite
    from ssl4rec.data.splits import Split

__all__ = [
    "RECBOLE_REQUIREMENTS",
    "SEQUENTIAL_MODELS",
    "ensure_venv",
    "recbole_config",
    "run_cell",
    "write_benchmark_files",
]

logger = logging.getLogger(__name__)

TORCH_REQUIREMENT = "torch==2.13.0"
RECBOLE_REQUIREMENT = "recbole==1.2.1"
RECBOLE_REQUIREMENTS = (
    "numpy==1.26.4",
    "scipy==1.12.0",
    "pandas<2.3",
    "tqdm",
    "colorlog",
    "colorama",
    "tensorboard",
    "texttable",
    "psutil",
    "thop",
    "tabulate",
    "pyyaml",
    "scikit-learn<1.6",
    "plotly",
    "faiss-cpu==1.8.0",
)
"""What RecBole 1.2.1 needs to import and train general and sequential models (faiss:
NCL's k-means, which falls back to the CPU when faiss has no GPU)."""

SEQUENTIAL_MODELS = frozenset({"SASRec", "BERT4Rec", "CL4SRec", "GRU4Rec", "S3Rec", "CORE"})
"""RecBole models read as sequential (their benchmark files carry item_id_list)."""

_METRIC_NAMES = {
    "recall": "recall",
    "ndcg": "ndcg",
    "hit": "hit",
    "mrr": "mrr",
    "precision": "precision",
    "map": "map",
    "itemcoverage": "coverage",
    "giniindex": "gini",
    "averagepopularity": "avg_pop",
}
"""RecBole result key (before ``@K``) -> our metric name."""
_RECBOLE_METRICS = {
    "recall": "Recall",
    "ndcg": "NDCG",
    "hit": "Hit",
    "mrr": "MRR",
    "precision": "Precision",
    "map": "MAP",
    "coverage": "ItemCoverage",
    "gini": "GiniIndex",
    "avg_pop": "AveragePopularity",
}
"""Our metric name -> RecBole metric class (metrics without a counterpart are left out)."""

_MARKER = ".ssl4rec-recbole-ready"
_SETUP_FAILED: dict[str, str] = {}
"""venv path -> error of a setup that failed in this process."""
DRIVER = Path(__file__).with_name("_recbole_driver.py")


# ---------------------------------------------------------------------- venv
def default_venv() -> Path:
    """``$SSL4REC_HOME/peers/recbole-venv`` (or the user cache folder)."""
    from ssl4rec.data.registry import dataset_home

    return dataset_home() / "peers" / "recbole-venv"


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(venv: str | Path | None = None, *, base_python: str | None = None) -> Path:
    """Create RecBole's virtual env if it is not ready; return its interpreter.

    Installs ``torch==2.13.0`` first (an open torch range would pull a multi-GB CUDA
    build), then ``recbole==1.2.1 --no-deps``, then ``RECBOLE_REQUIREMENTS``, and
    checks that RecBole's config, data, model and trainer modules import.

    Raises:
        Ssl4recError: a step failed; the message names the command and its output.
    """
    # absolute: the driver runs in the cell's own folder
    path = Path(venv).absolute() if venv is not None else default_venv()
    python = venv_python(path)
    if (path / _MARKER).is_file() and python.is_file():
        return python
    if str(path) in _SETUP_FAILED:  # do not retry a failed setup for every cell
        raise Ssl4recError(_SETUP_FAILED[str(path)])
    path.parent.mkdir(parents=True, exist_ok=True)
    base = base_python or getattr(sys, "_base_executable", None) or sys.executable
    steps: list[list[str]] = []
    if not python.is_file():
        steps.append([base, "-m", "venv", str(path)])
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    steps += [
        [*pip, TORCH_REQUIREMENT],
        [*pip, "--no-deps", RECBOLE_REQUIREMENT],
        [*pip, TORCH_REQUIREMENT, *RECBOLE_REQUIREMENTS],
        [
            str(python),
            "-c",
            "import recbole.config, recbole.data, recbole.model, recbole.trainer.trainer, "
            "recbole.utils",
        ],
    ]
    for step in steps:
        logger.info("recbole venv: %s", " ".join(step))
        proc = subprocess.run(step, capture_output=True, text=True, check=False)  # nosec B603
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            message = (
                f"setting up RecBole's env at {path} failed at `{' '.join(step)}`: "
                + " | ".join(tail)
            )
            _SETUP_FAILED[str(path)] = message
            raise Ssl4recError(message)
    (path / _MARKER).write_text(f"{RECBOLE_REQUIREMENT} {TORCH_REQUIREMENT}\n", encoding="utf-8")
    return python


# ---------------------------------------------------------------------- files
def write_benchmark_files(
    split: Split,
    folder: str | Path,
    name: str,
    *,
    sequential: bool = False,
    max_seq_len: int = 50,
) -> Path:
    """Write ``split`` as RecBole atomic benchmark files under ``folder/name/``.

    General models get ``user_id:token item_id:token timestamp:float`` rows, one per
    event of each part. Sequential models get RecBole's pre-augmented layout (as in
    its UniSRec benchmark files): ``user_id:token item_id_list:token_seq
    item_id:token``, where the train file has one row per training event after a
    user's first (the earlier events, at most ``max_seq_len``, as the list), and the
    valid/test files have one row per target event whose list holds the user's
    events of the earlier parts (and of the same part before it).

    Tokens are our user and item indices, so RecBole's ids map back one to one.

    Returns:
        The dataset folder (``data_path`` is its parent, ``dataset`` its name).
    """
    target = Path(folder) / name
    target.mkdir(parents=True, exist_ok=True)
    parts = {"train": split.train, "valid": split.valid, "test": split.test}
    if not sequential:
        for part, data in parts.items():
            order = np.asarray(data.time_order)
            lines = ["user_id:token\titem_id:token\ttimestamp:float"]
            lines += [
                f"{u}\t{i}\t{t}"
                for u, i, t in zip(
                    data.users[order].tolist(),
                    data.items[order].tolist(),
                    data.timestamps[order].tolist(),
                    strict=True,
                )
            ]
            _write_lines(target / f"{name}.{part}.inter", lines)
        return target
    history: list[list[int]] = [[] for _ in range(split.train.num_users)]
    for part, data in parts.items():
        lines = ["user_id:token\titem_id_list:token_seq\titem_id:token"]
        for user, seq in enumerate(data.sequences()):
            for item in seq.tolist():
                past = history[user][-max_seq_len:]
                if past:
                    lines.append(f"{user}\t{' '.join(map(str, past))}\t{item}")
                history[user].append(item)
        _write_lines(target / f"{name}.{part}.inter", lines)
    return target


def _write_lines(path: Path, lines: list[str]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------------- config
def recbole_config(
    suite: Suite,
    entry: ModelEntry,
    seed: int,
    *,
    data_path: Path,
    dataset: str,
    checkpoint_dir: Path,
) -> dict[str, Any]:
    """RecBole's config dict for one cell: our split, metrics, epochs and patience.

    Model hyperparameters come from the entry's ``peers.recbole.config`` (which also
    may override anything set here).
    """
    spec = entry.peers["recbole"]
    model = str(spec.get("model") or "")
    sequential = model in SEQUENTIAL_MODELS
    metrics: list[str] = []
    topk: set[int] = set()
    for name in suite.metric_names():
        base, _, k = name.partition("@")
        if base in _RECBOLE_METRICS:
            if _RECBOLE_METRICS[base] not in metrics:
                metrics.append(_RECBOLE_METRICS[base])
            topk.add(int(k))
    train = {**suite.train, **entry.train}
    model_cfg = entry.model
    epochs = model_cfg.get("epochs") or 300
    monitor = str(train.get("monitor", "ndcg@10"))
    base, _, k = monitor.partition("@")
    patience = train.get("patience", 10)
    config: dict[str, Any] = {
        "data_path": str(data_path),
        "benchmark_filename": ["train", "valid", "test"],
        "seed": int(seed),
        "reproducibility": True,
        "use_gpu": False,
        "device": "cpu",
        "gpu_id": "",
        "checkpoint_dir": str(checkpoint_dir),
        "show_progress": False,
        "save_dataset": False,
        "save_dataloaders": False,
        "log_wandb": False,
        "state": "INFO",
        "epochs": int(epochs),
        "stopping_step": int(patience) if patience is not None else 10**6,
        "eval_step": int(train.get("eval_every", 1)),
        "metrics": metrics,
        "topk": sorted(topk),
        "valid_metric": f"{_RECBOLE_METRICS.get(base, 'NDCG')}@{k or 10}",
        "valid_metric_bigger": True,
        "eval_args": {"mode": "full", "order": "TO", "group_by": "user"},
    }
    if sequential:
        config.update(
            load_col={"inter": ["user_id", "item_id_list", "item_id"]},
            MAX_ITEM_LIST_LENGTH=int(model_cfg.get("max_seq_len", 50)),
            train_neg_sample_args=None,
        )
    else:
        config["load_col"] = {"inter": ["user_id", "item_id", "timestamp"]}
    config.update(dict(spec.get("config") or {}))
    del dataset  # the name is passed separately (Config(dataset=...))
    return config


# ---------------------------------------------------------------------- cells
def run_cell(
    *,
    suite: Suite,
    entry: ModelEntry,
    seed: int,
    cell_dir: Path,
    work_dir: Path,
    base: dict[str, Any],
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """Run RecBole's counterpart of ``entry`` for one seed; return the cell's record.

    Options: ``venv`` (path), ``time_budget_s`` (overrides the entry's
    ``peers.recbole.time_budget_s``), ``timeout_s``, ``num_threads`` (overrides
    ``peers.recbole.num_threads``; unset: torch's default, one thread per core).

    A failure (env setup, crash, timeout) is returned as a failed record, never raised.
    """
    spec = entry.peers["recbole"]
    model = str(spec.get("model") or "")
    cell_dir, work_dir = Path(cell_dir).resolve(), Path(work_dir).resolve()
    cell_dir.mkdir(parents=True, exist_ok=True)
    work_dir.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {**base, "peer_model": model, "status": "failed", "error": None}
    start = time.perf_counter()
    try:
        if not model:
            raise ConfigError(f"peers.recbole.model is required for {entry.label!r}")
        python = ensure_venv(options.get("venv"))
        sequential = model in SEQUENTIAL_MODELS
        split = _suite_split(json.dumps({"data": suite.data, "split": suite.split}, sort_keys=True))
        from ssl4rec.bench.cell import split_fingerprint

        fingerprint = split_fingerprint(split)
        name = f"{suite.name.replace('-', '_')}_{'seq' if sequential else 'gen'}"
        data_root = work_dir / "data"
        folder = data_root / name
        stamp = folder / "split_hash.txt"
        if not stamp.is_file() or stamp.read_text().strip() != fingerprint:
            max_len = int(entry.model.get("max_seq_len", 50))
            write_benchmark_files(
                split, data_root, name, sequential=sequential, max_seq_len=max_len
            )
            stamp.write_text(fingerprint + "\n", encoding="utf-8")
        config = recbole_config(
            suite,
            entry,
            seed,
            data_path=data_root,
            dataset=name,
            checkpoint_dir=work_dir / "saved",
        )
        budget = options.get("time_budget_s") or spec.get("time_budget_s")
        driver_spec = {
            "model": model,
            "dataset": name,
            "config": config,
            "time_budget_s": float(budget) if budget else None,
            "num_threads": options.get("num_threads") or spec.get("num_threads"),
        }
        spec_path = cell_dir / "recbole_spec.json"
        out_path = cell_dir / "recbole_out.json"
        scores_path = cell_dir / "recbole_test_scores.npz"
        if sequential:
            driver_spec["scores_path"] = str(scores_path)
            scores_path.unlink(missing_ok=True)
        spec_path.write_text(json.dumps(driver_spec, indent=2), encoding="utf-8")
        out_path.unlink(missing_ok=True)
        timeout = options.get("timeout_s") or spec.get("timeout_s") or entry.timeout_s
        if timeout is None and budget:
            timeout = float(budget) * 2 + 300
        # run a copy outside this package: next to recbole.py, `import recbole` would
        # find this module instead of RecBole
        driver = work_dir / "recbole_driver.py"
        driver.write_text(DRIVER.read_text(encoding="utf-8"), encoding="utf-8")
        try:
            with open(cell_dir / "log.txt", "w", encoding="utf-8") as log:
                # list args (bandit B603)
                subprocess.run(  # nosec B603
                    [str(python), str(driver), str(spec_path), str(out_path)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=work_dir,
                    timeout=timeout,
                    check=False,
                )
        except subprocess.TimeoutExpired:
            raise Ssl4recError(f"RecBole {model} ran past timeout_s={timeout:g}") from None
        if not out_path.is_file():
            raise Ssl4recError(f"RecBole driver wrote no result; see {cell_dir / 'log.txt'}")
        out = json.loads(out_path.read_text(encoding="utf-8"))
        record.update(_record_fields(out, sequential=sequential, budget=budget))
        if sequential and record["status"] == "ok":
            try:
                record.update(_both_conventions(suite, split, scores_path, record["metrics"]))
            except Exception as err:  # noqa: BLE001 - keep RecBole's own numbers
                record["views_error"] = f"{type(err).__name__}: {err}"
                logger.warning("RecBole %s: masked scoring failed: %s", model, err)
        record["split_hash"] = fingerprint
        record["split_summary"] = split.summary()
    except Exception as err:  # noqa: BLE001 - a failed peer cell is data
        record.update(status="failed", error=f"{type(err).__name__}: {err}")
    record["process_s"] = round(time.perf_counter() - start, 3)
    record["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    (cell_dir / "record.json").write_text(json.dumps(record, indent=2, default=str))
    return record


def _record_fields(out: dict[str, Any], *, sequential: bool, budget: Any) -> dict[str, Any]:
    if out.get("status") != "ok":
        return {"status": "failed", "error": out.get("error"), "traceback": out.get("traceback")}
    return {
        "status": "ok",
        "metrics": parse_metrics(out.get("test") or {}),
        "valid_metrics": parse_metrics(out.get("valid") or {}),
        "eval_protocol": "full",
        "exclude_seen": not sequential,
        "load_s": _round(out.get("load_s")),
        "fit_s": _round(out.get("fit_s")),
        "eval_s": _round(out.get("eval_s")),
        "seconds_per_epoch": _round(out.get("seconds_per_epoch")),
        "time_to_best_s": _round(out.get("time_to_best_s")),
        "best_epoch": out.get("best_epoch"),
        "epochs_run": out.get("epochs_run"),
        "stopped_reason": out.get("stopped_reason"),
        "time_budget_s": float(budget) if budget else None,
        "wall_s": _round(out.get("wall_s")),
        "peak_rss_mb": round(float(out.get("peak_rss_mb", 0.0)), 1),
        "peer_versions": {"torch": out.get("torch"), "recbole": RECBOLE_REQUIREMENT},
    }


def _both_conventions(
    suite: Suite, split: Split, scores_path: Path, recbole_metrics: dict[str, float]
) -> dict[str, Any]:
    """A sequential cell's metrics from its score rows, ranked by our evaluator.

    ``metrics`` under the suite's ``exclude_seen``, ``views`` with the other
    convention; RecBole's own numbers (nothing masked) kept as ``recbole_metrics``.
    """
    from ssl4rec.bench.peers.scores import evaluate_score_rows, load_score_rows

    if not scores_path.is_file():
        raise Ssl4recError(f"RecBole driver wrote no score rows ({scores_path})")
    users, scores = load_score_rows(scores_path)
    results = evaluate_score_rows(users, scores, split, suite.metric_names())
    main = bool(suite.eval.get("exclude_seen", True))
    return {
        "metrics": results[main].metrics,
        "exclude_seen": main,
        "views": {f"exclude_seen={str(not main).lower()}": results[not main].metrics},
        "recbole_metrics": recbole_metrics,
        "valid_exclude_seen": False,
        "note": "RecBole's score rows ranked by ssl4rec's evaluator under both conventions "
        "(one trained model); its early stop monitors its own unmasked validation",
    }


def parse_metrics(result: Mapping[str, float]) -> dict[str, float]:
    """RecBole result keys (``ndcg@10``, ``itemcoverage@10``) -> our metric names."""
    out: dict[str, float] = {}
    for key, value in result.items():
        base, _, k = str(key).lower().partition("@")
        if base in _METRIC_NAMES and k:
            out[f"{_METRIC_NAMES[base]}@{k}"] = float(value)
    return out


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)


@functools.lru_cache(maxsize=2)
def _suite_split(key: str) -> Split:
    """The suite's split, made once per process (keyed by its data + split sections)."""
    from ssl4rec.config.base import from_dict
    from ssl4rec.runner import load_data, make_experiment_split
    from ssl4rec.runner.experiment import DataConfig, SplitConfig

    raw = json.loads(key)
    data = DataConfig.from_section(raw["data"])
    split = from_dict(SplitConfig, raw["split"], where="split")
    return make_experiment_split(load_data(data), split)
