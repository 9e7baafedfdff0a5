"""Progress bars for ssl4rec.text (a thin tqdm wrapper)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

__all__ = ["progress"]


def progress(
    iterable: Iterable[T],
    *,
    desc: str,
    total: int | None = None,
    enabled: bool | None = None,
) -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm bar.

    Args:
        iterable: What to iterate over.
        desc: Short label shown left of the bar.
        total: Number of steps, when ``iterable`` has no length.
        enabled: ``True`` always shows the bar, ``False`` never, ``None`` only when
            stderr is a terminal.

    Yields:
        The items of ``iterable``.
    """
    if enabled is None:
        enabled = _stderr_is_tty()
    if not enabled:
        yield from iterable
        return
    from tqdm.auto import tqdm

    yield from tqdm(iterable, desc=desc, total=total, leave=False, file=sys.stderr)


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):  # closed or replaced stream
        return False
