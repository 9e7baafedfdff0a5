"""Command-line options that several commands share."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["SetOption"]

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a field: section.field=value (repeatable)."),
]
"""``--set section.field=value``, repeatable: experiment config overrides."""
