"""Benchmark suites: a dataset, a protocol, models with their configs, seeds and metrics.

A suite is a YAML file (the ready ones live in ``ssl4rec/bench/suites/``)::

    name: ml100k-topn
    description: Top-N recommendation on MovieLens-100K.
    data: {dataset: ml-100k}            # the experiment ``data`` section
    split: {protocol: temporal_ratio}   # the experiment ``split`` section
    train: {patience: 10}               # trainer settings shared by every model
    eval: {metrics: [ndcg@10, recall@10, coverage@10]}
    seeds: [0, 1, 2]
    report: {primary: ndcg@10, columns: [ndcg@10, recall@10]}
    models:
      - label: ease                     # row name (default: model.name)
        model: {name: ease, l2_reg: 250.0}
        train: {}                       # overrides of the shared train section
        data: {}                        # overrides of the data section (e.g. social)
        tune: {}                        # grid chosen on validation
        timeout_s: 600                  # kill the cell after this long
        peers:                          # the same model in a peer library
          recbole: {model: EASE, config: {reg_weight: 250.0}}  # also: time_budget_s,
                                        # seeds (a subset of the suite's)
        ours: true                      # false: only the peers run this row

``load_suite`` parses it and ``Suite.validate`` builds every cell's
``ExperimentConfig`` up front, so an unknown model or metric, or a model config
that fails validation, is reported (naming the entry) before anything runs.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ssl4rec.config.base import did_you_mean
from ssl4rec.config.packaged import packaged_names, packaged_path
from ssl4rec.config.yaml_io import load_yaml
from ssl4rec.errors import ConfigError

__all__ = ["ModelEntry", "Suite", "list_suites", "load_suite", "suite_path"]

logger = logging.getLogger(__name__)

_SUITE_KEYS = {
    "name",
    "description",
    "data",
    "split",
    "train",
    "eval",
    "seeds",
    "report",
    "models",
}
_ENTRY_KEYS = {
    "label",
    "model",
    "train",
    "data",
    "tune",
    "timeout_s",
    "peers",
    "notes",
    "nproc",
    "privacy",
    "ours",
}
_REPORT_KEYS = {"primary", "columns", "beyond", "paired"}
_KNOWN_PEERS = {"recbole"}


@dataclass(frozen=True)
class ModelEntry:
    """One row of a suite: a model with its configuration."""

    label: str
    """Row name in tables and cell ids (unique in the suite)."""
    model: dict[str, Any]
    """The experiment ``model`` section (``name`` plus config fields)."""
    train: dict[str, Any] = field(default_factory=dict)
    """Overrides of the suite's ``train`` section."""
    tune: dict[str, Any] = field(default_factory=dict)
    """Search chosen on validation: a grid or an optuna study (``ExperimentConfig.tune``)."""
    timeout_s: float | None = None
    """Wall-clock limit of one cell; the cell is recorded as failed past it."""
    peers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Peer library name -> how that peer runs the same model."""
    notes: str = ""
    nproc: int = 1
    """Processes of a data-parallel cell (torchrun on this host; ``batch_size`` is per
    process, so the effective batch is ``batch_size × nproc``)."""
    privacy: dict[str, Any] | None = None
    """The experiment ``privacy`` section (DP training; the cell also runs the
    membership audit, ``ssl4rec.privacy.audit``)."""
    data: dict[str, Any] = field(default_factory=dict)
    """Overrides of the suite's ``data`` section (e.g. ``{social: trust.tsv}``)."""
    ours: bool = True
    """False for a row only a peer runs (a peer model ssl4rec has no counterpart of);
    ``model`` then only carries what the peer cell shares with ours (seed, epochs)."""

    @property
    def model_name(self) -> str:
        """The registered model name of this entry (``model.name``)."""
        return str(self.model.get("name", "")).lower()


@dataclass(frozen=True)
class Suite:
    """A parsed benchmark suite (see the module docstring for the YAML layout)."""

    name: str
    description: str
    data: dict[str, Any]
    split: dict[str, Any]
    train: dict[str, Any]
    eval: dict[str, Any]
    seeds: tuple[int, ...]
    models: tuple[ModelEntry, ...]
    primary: str = "ndcg@10"
    """Metric for bold-best significance testing and the accuracy-vs-time plot."""
    columns: tuple[str, ...] = ()
    """Metrics shown in the main table (default: every evaluated metric)."""
    beyond: tuple[str, ...] = ()
    """Beyond-accuracy metrics plotted per model."""
    paired: tuple[str, ...] = ()
    """``(baseline, candidate)`` labels: the significance test compares these two rows
    (default: the best of our rows against the runner-up)."""
    source: str = ""
    """Where the suite was read from."""

    # ------------------------------------------------------------------ cells
    def experiment_dict(self, entry: ModelEntry, seed: int) -> dict[str, Any]:
        """Plain experiment data of one (model, seed) cell."""
        model = {**copy.deepcopy(entry.model), "seed": int(seed)}
        out: dict[str, Any] = {
            "data": {**copy.deepcopy(self.data), **copy.deepcopy(entry.data)},
            "split": copy.deepcopy(self.split),
            "model": model,
            "train": {**copy.deepcopy(self.train), **copy.deepcopy(entry.train)},
            "eval": copy.deepcopy(self.eval),
        }
        if entry.tune:
            out["tune"] = copy.deepcopy(entry.tune)
        if entry.privacy is not None:
            out["privacy"] = copy.deepcopy(entry.privacy)
        return out

    def experiment(self, entry: ModelEntry, seed: int) -> Any:
        """The ``ExperimentConfig`` of one (model, seed) cell."""
        from ssl4rec.runner.experiment import ExperimentConfig

        return ExperimentConfig.from_dict(self.experiment_dict(entry, seed))

    def select(self, labels: Iterable[str] | None) -> Suite:
        """The suite restricted to the entries named ``labels``.

        A name that is some entry's label selects that entry only; otherwise it
        selects every entry of that model (``sasrec`` picks all SASRec variants of
        a suite unless one of them is labelled ``sasrec``).

        Raises:
            ConfigError: a name matches no entry; the message lists the entries.
        """
        if labels is None:
            return self
        wanted = [w.strip() for w in labels if w.strip()]
        chosen: list[ModelEntry] = []
        for name in wanted:
            hits = [e for e in self.models if e.label == name] or [
                e for e in self.models if e.model_name == name
            ]
            if not hits:
                raise ConfigError(
                    f"suite {self.name!r}: --models entry {name!r} matches no model; "
                    f"entries: {[e.label for e in self.models]}"
                )
            chosen.extend(e for e in hits if e not in chosen)
        return _replace(self, models=tuple(chosen))

    def with_seeds(self, seeds: Sequence[int]) -> Suite:
        """This suite with its seeds replaced by ``seeds``."""
        return _replace(self, seeds=tuple(int(s) for s in seeds))

    def with_overrides(
        self,
        *,
        dataset: str | None = None,
        data_path: str | None = None,
        protocol: str | None = None,
    ) -> Suite:
        """The suite on another dataset (registered name or local path) or protocol."""
        data = copy.deepcopy(self.data)
        split = copy.deepcopy(self.split)
        if dataset is not None:
            data = {"dataset": dataset}
        if data_path is not None:
            data = {**data, "dataset": None, "path": data_path}
        if protocol is not None:
            split = {**split, "protocol": protocol}
        return _replace(self, data=data, split=split)

    def validate(self) -> list[tuple[ModelEntry, int, Any]]:
        """Build every cell's experiment config; report all problems at once.

        Returns:
            ``(entry, seed, ExperimentConfig)`` per cell, in run order.

        Raises:
            ConfigError: one message listing each bad entry as
                ``models[i] (label): problem``.
        """
        problems: list[str] = []
        cells: list[tuple[ModelEntry, int, Any]] = []
        for index, entry in enumerate(self.models):
            where = f"suite {self.name!r} models[{index}] ({entry.label})"
            try:
                _check_importable(entry.model_name)
                configs = [(seed, self.experiment(entry, seed)) for seed in self.seeds]
            except ConfigError as err:
                problems.extend(f"{where}: {p}" for p in err.problems)
                continue
            if entry.ours:
                cells.extend((entry, seed, config) for seed, config in configs)
            for peer in entry.peers:
                if peer not in _KNOWN_PEERS:
                    problems.append(
                        f"{where}: unknown peer {peer!r}; known peers: {sorted(_KNOWN_PEERS)}"
                    )
        for metric in (self.primary, *self.columns, *self.beyond):
            if metric not in _evaluated(self):
                problems.append(
                    f"suite {self.name!r} report: metric {metric!r} is not in eval.metrics "
                    f"{list(_evaluated(self))}"
                )
        if problems:
            raise ConfigError(
                "invalid benchmark suite:\n  " + "\n  ".join(problems), problems=problems
            )
        return cells

    def metric_names(self) -> list[str]:
        """The metrics every cell evaluates."""
        return list(_evaluated(self))


def cell_id(label: str, seed: int, side: str = "ssl4rec") -> str:
    """Folder-safe id of one cell, e.g. ``ease-s0`` or ``recbole-ease-s0``."""
    base = f"{label}-s{seed}"
    return base if side == "ssl4rec" else f"{side}-{base}"


def config_hash(data: Mapping[str, Any]) -> str:
    """Short stable hash of plain config data (resume reruns a cell whose config changed)."""
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# ---------------------------------------------------------------------- loading
def list_suites() -> list[str]:
    """Names of the ready suites shipped with ssl4rec."""
    return packaged_names("ssl4rec.bench", "suites")


def suite_path(name_or_path: str | Path) -> Path:
    """The file of a ready suite name, or ``name_or_path`` itself when it is a file.

    Raises:
        ConfigError: neither a ready suite nor an existing file.
    """
    return packaged_path(
        name_or_path, package="ssl4rec.bench", folder="suites", what="benchmark suite"
    )


def load_suite(name_or_path: str | Path) -> Suite:
    """Parse a suite file (structure only; ``Suite.validate`` checks the models).

    Raises:
        ConfigError: unknown keys or malformed entries, all listed at once.
    """
    path = suite_path(name_or_path)
    raw = load_yaml(path)
    problems: list[str] = []
    where = f"{path.name}"
    for key in raw:
        if key not in _SUITE_KEYS:
            problems.append(f"{where}: unknown key {key!r}{did_you_mean(str(key), _SUITE_KEYS)}")
    name = str(raw.get("name") or path.stem)
    sections: dict[str, dict[str, Any]] = {}
    for key in ("data", "split", "train", "eval"):
        value = raw.get(key) or {}
        if not isinstance(value, Mapping):
            problems.append(f"{where}: {key} must be a mapping; got {value!r}")
            value = {}
        sections[key] = dict(value)
    seeds = _parse_seeds(raw.get("seeds", [0, 1, 2]), where, problems)
    report = raw.get("report") or {}
    if not isinstance(report, Mapping):
        problems.append(f"{where}: report must be a mapping; got {report!r}")
        report = {}
    for key in report:
        if key not in _REPORT_KEYS:
            problems.append(f"{where}: unknown key report.{key}{did_you_mean(str(key), _REPORT_KEYS)}")
    entries = _parse_entries(raw.get("models"), where, problems)
    paired = tuple(str(p) for p in report.get("paired", ()))
    labels = {e.label for e in entries}
    if paired and (len(paired) != 2 or not set(paired) <= labels):
        problems.append(
            f"{where}: report.paired must name two model labels (baseline, candidate); "
            f"got {list(paired)}"
        )
    if problems:
        raise ConfigError("invalid benchmark suite:\n  " + "\n  ".join(problems), problems)
    return Suite(
        name=name,
        description=str(raw.get("description") or ""),
        data=sections["data"],
        split=sections["split"],
        train=sections["train"],
        eval=sections["eval"],
        seeds=seeds,
        models=tuple(entries),
        primary=str(report.get("primary", "ndcg@10")).lower(),
        columns=tuple(str(c).lower() for c in report.get("columns", ())),
        beyond=tuple(str(c).lower() for c in report.get("beyond", ())),
        paired=paired,
        source=str(path),
    )


def _parse_seeds(value: Any, where: str, problems: list[str]) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return tuple(range(value))
    if isinstance(value, list) and value and all(isinstance(s, int) for s in value):
        return tuple(value)
    problems.append(f"{where}: seeds must be a count ≥ 1 or a list of integers; got {value!r}")
    return (0,)


def _parse_entries(value: Any, where: str, problems: list[str]) -> list[ModelEntry]:
    if not isinstance(value, list) or not value:
        problems.append(f"{where}: models must be a non-empty list; got {value!r}")
        return []
    entries: list[ModelEntry] = []
    labels: set[str] = set()
    for index, raw in enumerate(value):
        at = f"{where}: models[{index}]"
        if not isinstance(raw, Mapping):
            problems.append(f"{at} must be a mapping with a 'model' section; got {raw!r}")
            continue
        for key in raw:
            if key not in _ENTRY_KEYS:
                problems.append(f"{at}: unknown key {key!r}{did_you_mean(str(key), _ENTRY_KEYS)}")
        model = raw.get("model")
        if not isinstance(model, Mapping) or not isinstance(model.get("name"), str):
            problems.append(f"{at}: model must be a mapping with a name, e.g. {{name: ease}}")
            continue
        label = str(raw.get("label") or model["name"])
        if label in labels:
            problems.append(f"{at}: duplicate label {label!r}")
        labels.add(label)
        peers = raw.get("peers") or {}
        timeout = raw.get("timeout_s")
        if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
            problems.append(f"{at} ({label}): timeout_s must be a positive number; got {timeout!r}")
            timeout = None
        ours = raw.get("ours", True)
        if not isinstance(ours, bool):
            problems.append(f"{at} ({label}): ours must be true or false; got {ours!r}")
            ours = True
        if not ours and not peers:
            problems.append(f"{at} ({label}): ours: false needs a peers section (nothing would run)")
        nproc = raw.get("nproc", 1)
        if not isinstance(nproc, int) or isinstance(nproc, bool) or nproc < 1:
            problems.append(f"{at} ({label}): nproc must be a positive integer; got {nproc!r}")
            nproc = 1
        entries.append(
            ModelEntry(
                label=label,
                model=dict(model),
                train=dict(raw.get("train") or {}),
                tune=dict(raw.get("tune") or {}),
                timeout_s=float(timeout) if timeout is not None else None,
                peers={str(k): dict(v or {}) for k, v in dict(peers).items()},
                notes=str(raw.get("notes") or ""),
                nproc=nproc,
                privacy=dict(raw["privacy"]) if raw.get("privacy") is not None else None,
                data=dict(raw.get("data") or {}),
                ours=ours,
            )
        )
    return entries


def _check_importable(model_name: str) -> None:
    """Raise ``ConfigError`` for a name that is unknown or registered but not importable."""
    from ssl4rec.models.registry import get_model_class

    try:
        get_model_class(model_name)
    except ConfigError:
        raise
    except ImportError as err:
        raise ConfigError(
            f"model {model_name!r} is registered but not available in this installation ({err})"
        ) from None


def _evaluated(suite: Suite) -> tuple[str, ...]:
    from ssl4rec.runner.experiment import EvalConfig

    metrics = suite.eval.get("metrics", EvalConfig().metrics)
    return tuple(str(m).lower().replace(" ", "") for m in metrics)


def _replace(suite: Suite, **changes: Any) -> Suite:
    import dataclasses

    return dataclasses.replace(suite, **changes)
