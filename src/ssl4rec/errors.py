"""Exception types raised by ssl4rec.

Each subclasses a standard exception so that ordinary ``except ValueError`` or
``except RuntimeError`` clauses keep working.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "NotFittedError",
    "Ssl4recError",
    "TrainingDivergedError",
    "UnknownIdError",
]


class Ssl4recError(Exception):
    """Base class of every error raised on purpose by ssl4rec."""


class ConfigError(Ssl4recError, ValueError):
    """A configuration value or key is invalid; the message names the field.

    ``problems`` lists each problem separately when several were found at once.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = list(problems) if problems else [message]


class DataError(Ssl4recError, ValueError):
    """Input data is malformed; the message names the file, line or column."""


class UnknownIdError(DataError, KeyError):
    """A raw user or item id is not in the vocabulary."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class NotFittedError(Ssl4recError, RuntimeError):
    """A model method needs a fitted model."""


class TrainingDivergedError(Ssl4recError, FloatingPointError):
    """A loss became NaN or infinite; the best checkpoint so far is kept."""
