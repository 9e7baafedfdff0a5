"""Logging helpers: the one ``progress`` bar helper (wraps tqdm).

Modules log through ``logging.getLogger(__name__)``, children of ``ssl4rec``. The
library never configures handlers; only the CLI does (``setup_logging``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["progress", "progress_enabled"]

T = TypeVar("T")

_ROOT = "ssl4rec"


def progress_enabled(enabled: bool | None = None) -> bool:
    """Resolve ``enabled``: ``None`` means stderr is a TTY and ssl4rec logs at INFO or below."""
    if enabled is not None:
        return enabled
    try:
        is_tty = sys.stderr.isatty()
    except (AttributeError, ValueError):  # closed or replaced stream
        return False
    return is_tty and logging.getLogger(_ROOT).getEffectiveLevel() <= logging.INFO


def progress(
    iterable: Iterable[T],
    *,
    desc: str,
    total: int | None = None,
    enabled: bool | None = None,
    postfix: dict[str, object] | None = None,
) -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm bar, or pass it through when the bar is off.

    Args:
        iterable: What to iterate over.
        desc: Short label left of the bar, e.g. ``"epoch 3"``.
        total: Number of steps when ``iterable`` has no length.
        enabled: ``True`` always shows the bar, ``False`` never, ``None`` only when
            stderr is a terminal and the ``ssl4rec`` logger is at INFO or below.
        postfix: Mutable mapping shown right of the bar; the caller may update it
            while iterating (e.g. the running loss).

    Yields:
        The items of ``iterable``.
    """
    if not progress_enabled(enabled):
        yield from iterable
        return
    from tqdm.auto import tqdm

    bar = tqdm(iterable, desc=desc, total=total, leave=False, file=sys.stderr, dynamic_ncols=True)
    try:
        for item in bar:
            yield item
            if postfix:
                bar.set_postfix({k: _short(v) for k, v in postfix.items()}, refresh=False)
    finally:
        bar.close()


def _short(value: object) -> object:
    return f"{value:.4g}" if isinstance(value, float) else value
