"""Conversion between frozen config dataclasses and plain YAML-able data.

Rules (tested for every registered config class):

- unknown keys are errors, with a "did you mean" hint from the field names;
- ``Literal`` choices are strings, tuples become lists, nested dataclasses become
  mappings, paths become strings;
- every problem found in one mapping is reported at once in one ``ConfigError``.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from ssl4rec.errors import ConfigError

__all__ = [
    "Checks",
    "config_error",
    "did_you_mean",
    "from_dict",
    "to_dict",
]

T = TypeVar("T")


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A hint naming the choice closest to ``name``, for an error message.

    Args:
        name: What was given (an unknown key or name).
        choices: The valid names.

    Returns:
        ``" (did you mean 'x'?)"``, or ``""`` when no choice is close.
    """
    choices = list(choices)
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if not close:  # abbreviations: "evaluation" -> "eval"
        close = [c for c in choices if name.startswith(c) or c.startswith(name)][:1]
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin in (tuple, list):
        args = get_args(tp)
        inner = _type_name(args[0]) if args else "value"
        return f"a list of {inner}"
    if tp is type(None):
        return "null"
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return f"a mapping ({tp.__name__})"
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, where: str, problems: list[str]) -> Any:
    """Convert plain ``value`` to type ``tp``; append a message on mismatch."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin is Literal:
        choices = get_args(tp)
        if value in choices:
            return value
        problems.append(f"{where} must be one of {list(choices)}; got {value!r}")
        return None
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None:
            if type(None) in args:
                return None
            problems.append(f"{where} must be {_type_name(tp)}; got None")
            return None
        for arg in args:
            if arg is type(None):
                continue
            trial: list[str] = []
            converted = _convert(value, arg, where, trial)
            if not trial:
                return converted
        problems.append(f"{where} must be {_type_name(tp)}; got {value!r}")
        return None
    if origin in (tuple, list):
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            problems.append(f"{where} must be {_type_name(tp)}; got {value!r}")
            return None
        args = get_args(tp)
        inner = args[0] if args else Any
        items = [_convert(v, inner, f"{where}[{i}]", problems) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            problems.append(f"{where} must be a mapping; got {value!r}")
            return None
        return dict(value)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            problems.append(f"{where} must be a mapping ({tp.__name__}); got {value!r}")
            return None
        try:
            return from_dict(tp, value, where=where)
        except ConfigError as err:
            problems.extend(err.problems)
            return None
    if tp is bool:
        if isinstance(value, bool):
            return value
        problems.append(f"{where} must be true or false; got {value!r}")
        return None
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        problems.append(f"{where} must be an integer; got {value!r}")
        return None
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:  # YAML 1.1 reads "1e-3" as a string
                return float(value)
            except ValueError:
                pass
        problems.append(f"{where} must be a number; got {value!r}")
        return None
    if tp is str:
        if isinstance(value, str):
            return value
        problems.append(f"{where} must be a string; got {value!r}")
        return None
    if tp is Path:
        if isinstance(value, (str, Path)):
            return Path(value)
        problems.append(f"{where} must be a path string; got {value!r}")
        return None
    return value


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_dict(cls: type[T], data: Mapping[str, Any], *, where: str | None = None) -> T:
    """Build the dataclass ``cls`` from a plain mapping.

    Args:
        cls: A dataclass type.
        data: Plain data, as read from YAML.
        where: Prefix for error messages; defaults to the class name.

    Returns:
        An instance of ``cls`` (its ``__post_init__`` validation has run).

    Raises:
        ConfigError: listing every unknown key, type mismatch and invalid value; a
            key that ``cls.renamed_fields`` (a class-level mapping, old -> new name)
            lists is reported with its new name.
    """
    owner = where or cls.__name__
    if not isinstance(data, Mapping):
        raise config_error([f"{owner} must be a mapping; got {data!r}"])
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    hints = _hints(cls)
    problems: list[str] = []
    kwargs: dict[str, Any] = {}
    # a class lists its former field names in ``renamed_fields: ClassVar[dict[str, str]]``
    renamed: Mapping[str, str] = getattr(cls, "renamed_fields", {})
    for key, value in data.items():
        if key not in fields:
            if key in renamed:
                problems.append(f"{owner}: field {key!r} was renamed to {renamed[key]!r}")
            else:
                problems.append(f"{owner}: unknown field {key!r}{did_you_mean(str(key), fields)}")
            continue
        kwargs[key] = _convert(value, hints[key], f"{owner}.{key}", problems)
    for name, f in fields.items():
        if (
            name not in data
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ):
            problems.append(f"{owner}.{name} is required")
    if problems:
        raise config_error(problems)
    try:
        return cls(**kwargs)
    except ConfigError as err:
        if where is not None and where != cls.__name__:
            # re-anchor messages at the nesting path, e.g. "model.dropout"
            raise config_error(
                [p.replace(cls.__name__, where, 1) for p in err.problems]
            ) from None
        raise


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def to_dict(obj: Any) -> dict[str, Any]:
    """Plain-data view of a config dataclass, ready for YAML or JSON."""
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}


def config_error(problems: list[str]) -> ConfigError:
    """One ``ConfigError`` for ``problems``: the message itself, or a numbered list.

    Args:
        problems: One message per problem (at least one).
    """
    if len(problems) == 1:
        return ConfigError(problems[0])
    return ConfigError(
        f"{len(problems)} problems in configuration:\n" + "\n".join(f"  - {p}" for p in problems),
        problems,
    )


class Checks:
    """Collects validation problems for one config object, then raises them together.

    Example:
        >>> c = Checks("SASRecConfig")
        >>> c.positive("num_heads", 2)
        >>> c.raise_if_any()
    """

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.problems: list[str] = []

    def fail(self, field: str, constraint: str, value: Any, hint: str = "") -> None:
        """Record that ``field`` must satisfy ``constraint`` but is ``value``."""
        msg = f"{self.owner}.{field} must be {constraint}; got {value!r}"
        self.problems.append(msg + (f" ({hint})" if hint else ""))

    def positive(self, field: str, value: float | None) -> None:
        """Check ``value > 0`` (``None`` passes: the field is unset)."""
        if value is not None and not value > 0:
            self.fail(field, "> 0", value)

    def non_negative(self, field: str, value: float | None) -> None:
        """Check ``value >= 0`` (``None`` passes: the field is unset)."""
        if value is not None and not value >= 0:
            self.fail(field, "≥ 0", value)

    def in_range(
        self,
        field: str,
        value: float | None,
        low: float,
        high: float,
        *,
        low_open: bool = False,
        high_open: bool = False,
    ) -> None:
        """Check ``low <= value <= high``, either end open when asked."""
        if value is None:
            return
        ok_low = value > low if low_open else value >= low
        ok_high = value < high if high_open else value <= high
        if not (ok_low and ok_high):
            left = "(" if low_open else "["
            right = ")" if high_open else "]"
            self.fail(field, f"in {left}{low}, {high}{right}", value)

    def one_of(self, field: str, value: Any, choices: Iterable[Any]) -> None:
        """Check that ``value`` is one of ``choices``."""
        choices = list(choices)
        if value not in choices:
            self.fail(field, f"one of {choices}", value)

    def divides(self, field: str, value: int, other_field: str, other: int) -> None:
        """Check that ``value`` divides ``other`` (the value of ``other_field``)."""
        if value > 0 and other % value != 0:
            self.fail(field, f"a divisor of {other_field}={other}", value)

    def positive_fields(self, config: object, *fields: str) -> None:
        """Check ``> 0`` for each named field of ``config`` (a dataclass)."""
        for field in fields:
            self.positive(field, getattr(config, field))

    def fractions(self, config: object, *fields: str) -> None:
        """Check each named field of ``config`` is in ``[0, 1)`` (dropout-like rates)."""
        for field in fields:
            self.in_range(field, getattr(config, field), 0.0, 1.0, high_open=True)

    def all_positive(self, field: str, values: Iterable[float]) -> None:
        """Check that every one of ``values`` is > 0."""
        values = list(values)
        if any(not v > 0 for v in values):
            self.fail(field, "all > 0", values)

    def raise_if_any(self) -> None:
        """Raise one ``ConfigError`` listing every recorded problem, if any."""
        if self.problems:
            raise config_error(self.problems)
