"""``EvalResult``: the metrics of one evaluation run, with per-user values."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from ssl4rec.errors import ConfigError

__all__ = ["EvalResult"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class EvalResult:
    """Result of evaluating one model on one set of users.

    Attributes:
        metrics: metric name (``"ndcg@10"``) -> value. Accuracy metrics are the
            mean of the per-user values; beyond-accuracy metrics are list-level
            values (coverage and Gini over all lists; the others mean per user).
        per_user: metric name -> float64 ``(num_users,)``, aligned with ``users``;
            present for every metric that has per-user values.
        users: user indices evaluated, ``(num_users,)``.
        protocol: ``"full"`` or ``"sampled-<N>"``.
        exclude_seen: whether earlier interactions were masked before ranking.
        part: which split part was evaluated (``"valid"``, ``"test"``, ...).
        num_users: number of users evaluated.
        seconds: wall time of the evaluation.
    """

    metrics: dict[str, float]
    per_user: dict[str, np.ndarray]
    users: np.ndarray
    protocol: str = "full"
    exclude_seen: bool = True
    part: str = "test"
    num_users: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form context (model name, dataset) carried into ``to_dict``."""

    def __getitem__(self, name: str) -> float:
        return self.mean(name)

    def mean(self, name: str) -> float:
        """The value of metric ``name`` (case and spaces ignored, e.g. ``"NDCG@10"``).

        Raises:
            ConfigError: the metric was not evaluated; the message lists those that were.
        """
        key = name.strip().lower() if isinstance(name, str) else str(name)
        if key in self.metrics:
            return self.metrics[key]
        raise ConfigError(
            f"EvalResult: metric {name!r} was not evaluated; available: {list(self.metrics)}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able summary (no per-user arrays)."""
        return {
            "protocol": self.protocol,
            "part": self.part,
            "exclude_seen": bool(self.exclude_seen),
            "num_users": int(self.num_users),
            "seconds": float(self.seconds),
            "metrics": {k: float(v) for k, v in self.metrics.items()},
            **({"extra": _jsonable(self.extra)} if self.extra else {}),
        }

    def to_frame(self) -> pl.DataFrame:
        """One row per metric: ``metric, value, protocol, part, exclude_seen, num_users``."""
        names = list(self.metrics)
        return pl.DataFrame(
            {
                "metric": names,
                "value": [float(self.metrics[n]) for n in names],
                "protocol": [self.protocol] * len(names),
                "part": [self.part] * len(names),
                "exclude_seen": [bool(self.exclude_seen)] * len(names),
                "num_users": [int(self.num_users)] * len(names),
            },
            schema={
                "metric": pl.Utf8,
                "value": pl.Float64,
                "protocol": pl.Utf8,
                "part": pl.Utf8,
                "exclude_seen": pl.Boolean,
                "num_users": pl.Int64,
            },
        )

    def per_user_frame(self) -> pl.DataFrame:
        """One row per evaluated user: ``user`` (index) and one column per metric."""
        data: dict[str, Any] = {"user": np.asarray(self.users, dtype=np.int64)}
        data.update({name: np.asarray(v, dtype=np.float64) for name, v in self.per_user.items()})
        return pl.DataFrame(data)

    def summary(self) -> str:
        """One line, e.g. ``"full test users=943 ndcg@10=0.1264 recall@10=0.1199"``."""
        values = " ".join(f"{k}={v:.4f}" for k, v in self.metrics.items())
        return f"{self.protocol} {self.part} users={self.num_users} {values}"

    def __repr__(self) -> str:
        return f"EvalResult({self.summary()}, seconds={self.seconds:.3f})"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
