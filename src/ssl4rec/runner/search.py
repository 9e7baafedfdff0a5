"""The ``tune`` section read and checked, without importing torch (``config show``).

The searches themselves are in ``ssl4rec.runner.tuning``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ssl4rec.config.base import did_you_mean
from ssl4rec.errors import ConfigError

__all__ = ["OptunaSearch", "parse_tune"]

_OPTUNA_KEYS = ("search", "trials", "budget_s", "seed", "params", "startup_trials", "warmup_epochs")
_RANGE_KEYS = ("low", "high", "log", "step")


@dataclass(frozen=True)
class OptunaSearch:
    """``tune: {search: optuna, ...}`` (the fields: ``ssl4rec.runner.tuning``'s docstring)."""

    params: dict[str, Any]
    """Model field -> list of choices, or ``{low, high, log?, step?}`` (ints: an int range)."""
    trials: int = 20
    budget_s: float | None = None
    seed: int = 0
    startup_trials: int = 5
    """Finished trials before the median pruner may stop one."""
    warmup_epochs: int = 5
    """Epochs of a trial before the pruner looks at it."""


def parse_tune(tune: Mapping[str, Any], fields: Collection[str]) -> dict[str, list[Any]] | OptunaSearch:
    """A grid (``field -> values``) or an ``OptunaSearch``, checked against ``fields``.

    Raises:
        ConfigError: naming ``tune.<key>`` and what was expected.
    """
    search = tune.get("search", "grid")
    if search not in ("grid", "optuna"):
        raise ConfigError(f"tune.search must be 'grid' or 'optuna'; got {search!r}")
    if search == "grid":
        grid = {k: v for k, v in tune.items() if k != "search"}
        bad = [k for k in grid if k not in fields]
        if bad:
            raise ConfigError(f"tune: unknown field {bad[0]!r}; fields: {sorted(fields)}")
        for key, candidates in grid.items():
            if not isinstance(candidates, list) or not candidates:
                raise ConfigError(f"tune.{key} must be a non-empty list; got {candidates!r}")
        return grid
    unknown = [k for k in tune if k not in _OPTUNA_KEYS]
    if unknown:
        raise ConfigError(
            f"tune: unknown key {unknown[0]!r} of an optuna search{did_you_mean(str(unknown[0]), _OPTUNA_KEYS)}"
        )
    params = tune.get("params")
    if not isinstance(params, Mapping) or not params:
        raise ConfigError(
            "tune.params must map model fields to choices or ranges, e.g. "
            f"{{learning_rate: {{low: 1.0e-4, high: 1.0e-2, log: true}}}}; got {params!r}"
        )
    for name, spec in params.items():
        if name not in fields:
            raise ConfigError(f"tune.params: unknown field {name!r}; fields: {sorted(fields)}")
        _check_space(f"tune.params.{name}", spec)
    ints = {"trials": 1, "startup_trials": 0, "warmup_epochs": 0}
    values: dict[str, Any] = {}
    for key, least in ints.items():
        if key in tune:
            value = tune[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ConfigError(f"tune.{key} must be an integer ≥ {least}; got {value!r}")
            values[key] = value
    if "seed" in tune:
        if isinstance(tune["seed"], bool) or not isinstance(tune["seed"], int):
            raise ConfigError(f"tune.seed must be an integer; got {tune['seed']!r}")
        values["seed"] = tune["seed"]
    budget = tune.get("budget_s")
    if budget is not None and (
        isinstance(budget, bool) or not isinstance(budget, int | float) or budget <= 0
    ):
        raise ConfigError(f"tune.budget_s must be a number of seconds > 0 or null; got {budget!r}")
    return OptunaSearch(
        params={k: (list(v) if isinstance(v, list) else dict(v)) for k, v in params.items()},
        budget_s=None if budget is None else float(budget),
        **values,
    )


def _check_space(where: str, spec: Any) -> None:
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(f"{where} must list at least one choice; got []")
        return
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where} must be a list of choices or {{low, high, log?, step?}}; got {spec!r}")
    unknown = [k for k in spec if k not in _RANGE_KEYS]
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; expected {list(_RANGE_KEYS)}")
    for key in ("low", "high"):
        value = spec.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}.{key} must be a number; got {value!r}")
    low, high = float(spec["low"]), float(spec["high"])
    if not low < high:
        raise ConfigError(f"{where}: low must be < high; got low={low!r}, high={high!r}")
    if spec.get("log") and low <= 0:
        raise ConfigError(f"{where}: a log range needs low > 0; got low={low!r}")


