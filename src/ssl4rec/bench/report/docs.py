"""Benchmark report in the docs: regenerate a suite's marked Markdown section.

``update_doc`` replaces the text between ``<!-- bench:SUITE:start -->`` and
``<!-- bench:SUITE:end -->`` in a Markdown file and leaves the rest as it is.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["markers", "update_doc"]


def markers(suite_name: str) -> tuple[str, str]:
    """The start and end comment lines around the suite's generated section."""
    return f"<!-- bench:{suite_name}:start -->", f"<!-- bench:{suite_name}:end -->"


def update_doc(path: str | Path, suite_name: str, body: str) -> bool:
    """Replace the suite's marked section of ``path`` (appended when absent).

    Returns:
        True if the section existed and was replaced, False if it was appended.
    """
    path = Path(path)
    start, end = markers(suite_name)
    text = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmarks\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        new = pattern.sub(lambda _: block, text, count=1)
        replaced = True
    else:
        new = text.rstrip() + "\n\n" + block + "\n"
        replaced = False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)
    return replaced
