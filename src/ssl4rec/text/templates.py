"""Item-text templates: one line of text per item, built from the item table.

A template is either

- the name of a built-in template (``"movielens"``, ``"amazon"``, ``"lastfm"``,
  ``"default"``), or
- a format string with ``{field}`` placeholders naming item-table columns, e.g.
  ``"{title} ({year}). Genres: {genres}"``; or
- a sequence of such format strings ("segments"). A segment is kept only when every
  field it names has a value, so ``("{title}", " ({year})")`` gives ``"Heat"`` rather
  than ``"Heat ()"`` for an item without a year.

Lists (``genres``, ``tags``, ``categories``) are joined with ``", "``, a list of
``description`` paragraphs with ``" "``; missing values are empty. Placeholders are
looked up in a plain mapping with ``str.format_map``; attribute access, indexing and
``eval`` are never used.
"""

from __future__ import annotations

import functools
import logging
import re
import string
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import ConfigError

if TYPE_CHECKING:
    import polars as pl

__all__ = ["TEXT_FIELDS", "TEMPLATES", "item_texts", "render_template"]

logger = logging.getLogger(__name__)

TEXT_FIELDS = ("title", "year", "genres", "tags", "description", "brand", "categories")
"""Item-table columns that templates may name even when a source lacks them."""

TEMPLATES: Mapping[str, tuple[str, ...]] = {
    # "Toy Story (1995). Genres: Animation, Children's, Comedy"
    "movielens": ("{title}", " ({year})", ". Genres: {genres}"),
    # "Echo Dot. Brand: Amazon. Categories: Electronics, Speakers. Smart speaker..."
    "amazon": ("{title}", ". Brand: {brand}", ". Categories: {categories}", ". {description}"),
    # Last.fm artists: the artist name is the item title. "Muse. Tags: rock, alternative"
    "lastfm": ("{title}", ". Tags: {tags}"),
    # every known text column that has a value, in a fixed order
    "default": (
        "{title}",
        " ({year})",
        ". Genres: {genres}",
        ". Tags: {tags}",
        ". Brand: {brand}",
        ". Categories: {categories}",
        ". {description}",
    ),
}
"""Built-in templates by name, as segments (see the module docstring)."""

_SPACES = re.compile(r"\s+")
_LEADING_PUNCT = re.compile(r"^[\s.,;:]+")


def item_texts(data: Interactions, template: str | Sequence[str] | None = None) -> list[str]:
    """One text per item index, rendered from ``data.item_table``.

    Args:
        data: The dataset; its ``item_table`` supplies the fields.
        template: A built-in template name, a format string, or a sequence of format
            string segments. ``None`` uses ``"default"``, which joins every text
            column the table has.

    Returns:
        ``data.num_items`` strings in item-index order. Items without any text get
        ``""`` and one ``UserWarning`` reports how many there are.

    Raises:
        ConfigError: for an unknown template name, a placeholder that names no
            column (the message names it and lists the columns), or a malformed
            format string.
    """
    return table_texts(data.item_table, data.num_items, template)


def table_texts(
    table: pl.DataFrame | None, n: int, template: str | Sequence[str] | None = None
) -> list[str]:
    """``item_texts`` from an item table alone (one row per item index, ``n`` items).

    A saved model keeps its ``item_table``, so a server renders the texts its model
    was trained on without the training data.
    """
    segments = _segments(template)
    columns = [] if table is None else [c for c in table.columns if c != "item_id"]
    fields = _check_fields(segments, columns, single=_is_single(template))
    if table is None or not fields:
        rows: list[dict[str, Any]] = [{} for _ in range(n)]
    else:
        present = [f for f in fields if f in table.columns]
        rows = table.select(present).to_dicts() if present else [{} for _ in range(n)]
    texts = [render_template(segments, row, single=_is_single(template)) for row in rows]
    missing = sum(1 for t in texts if not t)
    if missing:
        why = "the dataset has no item table" if table is None else "their text fields are empty"
        warnings.warn(
            f"item_texts: {missing} of {n} items have no text ({why}); they get an empty string",
            UserWarning,
            stacklevel=2,
        )
    logger.debug("item texts rendered: items=%d missing=%d", n, missing)
    return texts


def render_template(
    segments: Sequence[str], row: Mapping[str, Any], *, single: bool = False
) -> str:
    """Render one item's text.

    Args:
        segments: Format-string segments (already validated).
        row: Field values of one item; missing keys and ``None`` are empty.
        single: Treat ``segments`` as one user format string: empty fields render
            as ``""`` instead of dropping the segment.

    Returns:
        The text with whitespace collapsed, or ``""`` when every field it names is
        empty.
    """
    values = _SafeValues(row)  # lists joined with ", " (description paragraphs with " ")
    parts: list[str] = []
    any_value = False
    for segment in segments:
        names = _field_names(segment)
        filled = [bool(values[f]) for f in names]
        if names and not any(filled):
            continue
        if not single and not all(filled):
            continue
        any_value = any_value or any(filled)
        try:
            parts.append(segment.format_map(values))
        except (ValueError, TypeError) as err:  # e.g. a numeric format spec on text
            raise ConfigError(f"item text template {segment!r} cannot be rendered: {err}") from err
    if not any_value:
        return ""
    text = _SPACES.sub(" ", "".join(parts)).strip()
    # a dropped first segment leaves the separator of the next one in front
    return text if single else _LEADING_PUNCT.sub("", text)


# ---------------------------------------------------------------------- helpers
class _SafeValues(dict[str, str]):
    """Field values as display strings; unknown keys render as ``""``."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        super().__init__(
            {str(k): _display(v, " " if k == "description" else ", ") for k, v in row.items()}
        )

    def __missing__(self, key: str) -> str:
        return ""


def _display(value: Any, sep: str = ", ") -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, (list, tuple)):
        return sep.join(s for s in (_display(v) for v in value) if s)
    return str(value).strip()


def _is_single(template: str | Sequence[str] | None) -> bool:
    return isinstance(template, str) and template not in TEMPLATES


def _segments(template: str | Sequence[str] | None) -> tuple[str, ...]:
    if template is None:
        return TEMPLATES["default"]
    if isinstance(template, str):
        if template in TEMPLATES:
            return TEMPLATES[template]
        if "{" not in template:
            raise ConfigError(
                f"item text template must be one of {sorted(TEMPLATES)} or a format string "
                f"with {{field}} placeholders; got {template!r}"
            )
        return (template,)
    segments = tuple(template)
    bad = [s for s in segments if not isinstance(s, str)]
    if not segments or bad:
        raise ConfigError(
            f"item text template must be a non-empty sequence of format strings; got {template!r}"
        )
    return segments


@functools.lru_cache(maxsize=256)
def _field_names(segment: str) -> tuple[str, ...]:
    try:
        parsed = list(string.Formatter().parse(segment))
    except ValueError as err:
        raise ConfigError(
            f"item text template {segment!r} is not a valid format string: {err}"
        ) from None
    return tuple(name for _, name, _, _ in parsed if name is not None)


def _check_fields(segments: Sequence[str], columns: Sequence[str], *, single: bool) -> list[str]:
    """All field names used; raise ``ConfigError`` for unknown or unsafe ones."""
    allowed = set(columns) | set(TEXT_FIELDS)
    used: list[str] = []
    for segment in segments:
        for name in _field_names(segment):
            if not name.isidentifier():
                shown = name or "{}"
                raise ConfigError(
                    f"item text template: placeholder {shown!r} must be a plain field name "
                    f"(no positions, attributes or indexing); got it in {segment!r}"
                )
            if name not in allowed:
                raise ConfigError(
                    f"item text template: unknown placeholder {{{name}}}; available fields: "
                    f"{sorted(allowed)}"
                )
            if name not in used:
                used.append(name)
    if single and not used:  # pragma: no cover - _segments requires a "{"
        raise ConfigError("item text template names no field")
    return used
