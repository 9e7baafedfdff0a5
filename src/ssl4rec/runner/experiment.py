"""Experiment configuration: data + split + model + train + eval (+ tune).

One YAML file describes one run; the CLI and the Python API build the same
``ExperimentConfig``. Defaults live in the dataclasses; YAML holds overrides; CLI
``--set section.field=value`` overrides YAML.

Example::

    data: {dataset: ml-100k}
    split: {protocol: temporal_ratio}
    model: {name: ease, l2_reg: 250.0}
    tune: {l2_reg: [100.0, 250.0, 500.0]}
    eval: {metrics: [recall@10, ndcg@10]}

``tune`` may also be an Optuna study (``search: optuna``; ``ssl4rec.runner.tuning``).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ssl4rec.config.base import Checks, config_error, did_you_mean, from_dict, to_dict
from ssl4rec.config.yaml_io import apply_overrides, dump_yaml, load_yaml, parse_override
from ssl4rec.data.preprocess import PreprocessConfig
from ssl4rec.errors import ConfigError
from ssl4rec.evaluation.metrics import parse_metrics
from ssl4rec.models.config import ModelConfig
from ssl4rec.models.registry import get_config_class
from ssl4rec.privacy.config import PrivacyConfig
from ssl4rec.training.config import TrainConfig

__all__ = [
    "DataConfig",
    "EvalConfig",
    "ExperimentConfig",
    "SplitConfig",
    "load_experiment",
]

logger = logging.getLogger(__name__)

DataFormat = Literal["auto", "movielens", "recbole", "amazon", "amazon-unisrec", "lastfm", "csv", "parquet"]


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    """Where the interactions come from and how they are cleaned."""

    dataset: str | None = "ml-100k"
    """A registered dataset name (``ssl4rec datasets list``); null when ``path`` is set
    (a YAML ``data`` section with ``path`` and no ``dataset`` clears the default)."""
    path: str | None = None
    """A local file or folder, instead of ``dataset`` (set one of the two)."""
    format: DataFormat = "auto"
    """How to read ``path``; ``auto`` guesses from the file names."""
    columns: dict[str, str] = field(default_factory=dict)
    """For csv/parquet: ``user``, ``item``, ``rating``, ``timestamp`` -> column names."""
    separator: str | None = None
    """For csv: the field separator (default ``,``; ``\\t`` for .tsv)."""
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    """Cleaning steps applied after loading."""
    social: str | None = None
    """A user-user edge file (trust, friendship: two user-id columns) for the graph
    models (lightgcn, sgl, simgcl, xsimgcl); see ``ssl4rec.data.sources.social``."""

    def __post_init__(self) -> None:
        c = Checks("DataConfig")
        if self.dataset is None and self.path is None:
            c.fail("dataset", "a dataset name, or path must be set", None)
        if self.dataset is not None and self.path is not None:
            c.fail(
                "dataset",
                f"null when path is set (path={self.path!r}; set one of the two)",
                self.dataset,
            )
        unknown = set(self.columns) - {"user", "item", "rating", "timestamp"}
        if unknown:
            c.fail("columns", "keys among ['user', 'item', 'rating', 'timestamp']", sorted(unknown))
        c.raise_if_any()

    @classmethod
    def from_section(cls, section: Any, where: str = "data") -> DataConfig:
        """The config of a ``data`` section; a ``path`` without ``dataset`` clears the default.

        Raises:
            ConfigError: not a mapping, an unknown field or a bad value (named with ``where``).
        """
        if isinstance(section, Mapping) and "path" in section and "dataset" not in section:
            # a file of one's own: the default dataset name must not leak into results
            section = {"dataset": None, **section}
        return from_dict(cls, section, where=where)


@dataclass(frozen=True, kw_only=True)
class SplitConfig:
    """How events become train/valid/test (see ``ssl4rec.data.splits``)."""

    protocol: Literal["loo", "temporal_ratio", "global_time", "random"] = "temporal_ratio"
    """Split protocol."""
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    """Train/valid/test shares for ``temporal_ratio`` and ``random``."""
    seed: int = 0
    """Seed for ``random``."""
    valid_start: int | None = None
    """For ``global_time``: first timestamp of validation."""
    test_start: int | None = None
    """For ``global_time``: first timestamp of test."""
    cold_item_fraction: float | None = None
    """Cold-start protocol: hold this share of the items out of train and valid
    entirely; test results are then also reported for cold and warm targets."""
    cold_item_seed: int = 0
    """Seed that picks the held-out items."""

    def __post_init__(self) -> None:
        c = Checks("SplitConfig")
        if self.cold_item_fraction is not None:
            c.in_range("cold_item_fraction", self.cold_item_fraction, 0.0, 1.0, low_open=True, high_open=True)
        if len(self.ratios) != 3 or any(r < 0 for r in self.ratios):
            c.fail("ratios", "three non-negative numbers", list(self.ratios))
        elif abs(sum(self.ratios) - 1.0) > 1e-6:
            c.fail("ratios", "numbers summing to 1", list(self.ratios))
        if self.protocol == "global_time" and (self.valid_start is None or self.test_start is None):
            c.fail("valid_start", "set (with test_start) for protocol 'global_time'", self.valid_start)
        c.raise_if_any()


@dataclass(frozen=True, kw_only=True)
class EvalConfig:
    """What is measured on the test split."""

    metrics: tuple[str, ...] = (
        "recall@10",
        "recall@20",
        "ndcg@10",
        "ndcg@20",
        "hit@10",
        "mrr@10",
        "coverage@10",
    )
    """Metric names with cut-offs, e.g. ``ndcg@10`` (parsed at load time)."""
    exclude_seen: bool = True
    """Mask items from earlier splits before ranking."""
    both_conventions: bool = False
    """Also evaluate the test part with ``exclude_seen`` flipped (reported beside)."""
    batch_size: int = 1024
    """Users scored at once."""
    sampled_negatives: int | None = None
    """Rank against this many sampled negatives instead of all items (labelled)."""
    seed: int = 0
    """Seed for sampled negatives."""

    def __post_init__(self) -> None:
        c = Checks("EvalConfig")
        c.positive("batch_size", self.batch_size)
        c.positive("sampled_negatives", self.sampled_negatives)
        c.raise_if_any()
        parse_metrics(self.metrics)  # unknown metric -> ConfigError now, not after training


@dataclass(frozen=True, kw_only=True)
class ExperimentConfig:
    """One experiment: data, split, model (tagged by ``name``), training, evaluation."""

    model_name: str
    model: ModelConfig
    """The model's config (its class is the one registered under ``model_name``)."""
    data: DataConfig = field(default_factory=DataConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    """Trainer settings (closed-form models read none of them)."""
    eval: EvalConfig = field(default_factory=EvalConfig)
    tune: dict[str, Any] = field(default_factory=dict)
    """Model fields to choose on the validation split: a grid, e.g. ``{l2_reg: [100, 500]}``,
    or an Optuna study, ``{search: optuna, trials: 30, params: {...}}``
    (``ssl4rec.runner.tuning``)."""
    privacy: PrivacyConfig | None = None
    """User-level differential privacy and the audit's held-out users (``docs/privacy.md``)."""

    def __post_init__(self) -> None:
        config_cls = get_config_class(self.model_name)
        if not isinstance(self.model, config_cls):
            raise ConfigError(
                f"ExperimentConfig.model must be a {config_cls.__name__} for model "
                f"{self.model_name!r}; got {type(self.model).__name__}"
            )
        from ssl4rec.runner.search import parse_tune

        if self.tune:
            parse_tune(self.tune, {f.name for f in dataclasses.fields(config_cls)})

    def search(self) -> Any:
        """The ``tune`` section read: a grid dict or an ``OptunaSearch``."""
        from ssl4rec.runner.search import parse_tune

        names = {f.name for f in dataclasses.fields(get_config_class(self.model_name))}
        return parse_tune(self.tune, names)

    # ----------------------------------------------------------------- conversion
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExperimentConfig:
        """Build from plain data; reports every problem of every section at once."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"experiment config must be a mapping; got {data!r}")
        allowed = {"data", "split", "model", "train", "eval", "tune", "privacy"}
        problems: list[str] = []
        for key in data:
            if key not in allowed:
                problems.append(f"unknown section {key!r}{did_you_mean(str(key), allowed)}")
        model_section = data.get("model") or {}
        if not isinstance(model_section, Mapping):
            problems.append(
                f"model must be a mapping with a name (e.g. model: {{name: ease}}); "
                f"got {model_section!r:.100}"
            )
        model_raw = dict(model_section) if isinstance(model_section, Mapping) else {}
        name = model_raw.pop("name", None)
        if not isinstance(name, str) and isinstance(model_section, Mapping):
            problems.append("model.name is required (e.g. model: {name: ease})")
        sections: dict[str, Any] = {}
        try:
            if isinstance(name, str):
                sections["model"] = from_dict(get_config_class(name), model_raw, where="model")
        except ConfigError as err:
            problems.extend(err.problems)
        specs = {
            "split": SplitConfig,
            "eval": EvalConfig,
            "train": TrainConfig,
            "privacy": PrivacyConfig,
        }
        data_section = data.get("data")
        if data_section is not None:
            try:
                sections["data"] = DataConfig.from_section(data_section)
            except ConfigError as err:
                problems.extend(err.problems)
        for key, section_cls in specs.items():
            if data.get(key) is None:
                continue
            try:
                sections[key] = from_dict(section_cls, data[key], where=key)
            except ConfigError as err:
                problems.extend(err.problems)
        tune = data.get("tune") or {}
        if not isinstance(tune, Mapping):
            problems.append(
                f"tune must be a mapping of field -> list of values (or an optuna search); got {tune!r}"
            )
            tune = {}
        if problems:
            raise config_error(problems)
        return cls(model_name=str(name).lower(), tune=dict(tune), **sections)

    def to_dict(self) -> dict[str, Any]:
        """Plain data that ``from_dict`` turns back into an equal config."""
        out: dict[str, Any] = {
            "data": to_dict(self.data),
            "split": to_dict(self.split),
            "model": {"name": self.model_name, **to_dict(self.model)},
            "train": to_dict(self.train),
            "eval": to_dict(self.eval),
        }
        if self.tune:
            out["tune"] = copy.deepcopy(dict(self.tune))
        if self.privacy is not None:
            out["privacy"] = to_dict(self.privacy)
        return out

    def to_yaml(self, path: str | Path | None = None) -> str:
        """The config as YAML text (also written to ``path`` when given)."""
        return dump_yaml(self.to_dict(), path)


def load_experiment(
    path: str | Path | None = None,
    *,
    overrides: Iterable[str] = (),
    base: Mapping[str, Any] | None = None,
) -> ExperimentConfig:
    """Load an experiment: code defaults < ``base`` < YAML file < ``overrides``.

    An override of a model field that ``tune`` searches (``--set model.l2_reg=500``
    while ``tune: {l2_reg: [...]}``) fixes that field: its axis leaves the grid, and
    the log says so. ``--set tune={}`` turns tuning off altogether.

    Raises:
        ConfigError: naming the file, the section and the field.
    """
    data: dict[str, Any] = dict(base or {})
    if path is not None:
        loaded = load_yaml(path)
        for key, value in loaded.items():
            if isinstance(value, Mapping) and isinstance(data.get(key), Mapping):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
    data = apply_overrides(data, overrides)
    tune = data.get("tune")
    if isinstance(tune, Mapping):
        optuna = tune.get("search") == "optuna" and isinstance(tune.get("params"), Mapping)
        for text in overrides:
            keys, _ = parse_override(text)
            axes = tune["params"] if optuna else tune
            if len(keys) == 2 and keys[0] == "model" and keys[1] in axes:
                axes = {k: v for k, v in axes.items() if k != keys[1]}
                tune = {**tune, "params": axes} if optuna else axes
                logger.info(
                    "tune: model.%s is set explicitly (%s); its axis leaves the search",
                    keys[1],
                    text,
                )
        if optuna and not tune["params"]:
            tune = {}  # every searched field was set: nothing left to search
        data["tune"] = tune
    try:
        return ExperimentConfig.from_dict(data)
    except ConfigError as err:
        if path is None:
            raise
        raise ConfigError(f"{path}: {err}") from None
