"""Item-text encoding benchmark: ``ssl4rec bench text-encode``.

Measures, on one dataset's item texts (default ml-100k: title, year, genres):

1. loading the sentence-transformers model;
2. encoding every item text into an empty cache (the first run of a user);
3. the same call again (everything read from the cache);
4. the call after one item's text changed (only that item is encoded).

Each step is timed with ``time.perf_counter``; the machine's CPU count, torch
threads and load average are stored beside, since the numbers move with load.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

__all__ = ["render_markdown", "run_text_encode"]

logger = logging.getLogger(__name__)

SUITE_NAME = "text-encode"


class _Counting:
    """Wraps an encoder and counts the texts it was asked to encode."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.encoded = 0

    def encode(self, texts: Any, **kwargs: Any) -> Any:
        self.encoded += len(texts)
        return self.inner.encode(texts, **kwargs)


def run_text_encode(
    data: Any,
    *,
    encoder: str = "all-MiniLM-L6-v2",
    template: str | None = None,
    dataset: str = "ml-100k",
) -> dict[str, Any]:
    """Time model load, a cold encode, a cached rerun and a one-item change.

    Args:
        data: ``Interactions`` with an item table (the texts come from it).
        encoder: sentence-transformers model name or local path.
        template: item-text template (None: ``default``).
        dataset: label stored with the result.

    Returns:
        A record with the timings in seconds and the counts of encoded texts.
    """
    import polars as pl
    import torch

    from ssl4rec.text.cache import item_embeddings
    from ssl4rec.text.sentence_transformers import SentenceTransformerEncoder

    start = time.perf_counter()
    model = _Counting(SentenceTransformerEncoder(encoder))
    load_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="ssl4rec-text-bench-") as cache:
        start = time.perf_counter()
        first = item_embeddings(data, model, template=template, cache_dir=cache)
        cold_s, cold_n = time.perf_counter() - start, model.encoded
        start = time.perf_counter()
        item_embeddings(data, model, template=template, cache_dir=cache)
        cached_s, cached_n = time.perf_counter() - start, model.encoded - cold_n
        table = data.item_table
        column = "title" if "title" in table.columns else table.columns[-1]
        changed_table = table.with_columns(
            pl.when(pl.int_range(pl.len()) == 0)
            .then(pl.col(column).cast(pl.Utf8) + " (director's cut)")
            .otherwise(pl.col(column).cast(pl.Utf8))
            .alias(column)
        )
        changed = replace(data, item_table=changed_table)
        before = model.encoded
        start = time.perf_counter()
        item_embeddings(changed, model, template=template, cache_dir=cache)
        changed_s, changed_n = time.perf_counter() - start, model.encoded - before
    return {
        "suite": SUITE_NAME,
        "dataset": dataset,
        "encoder": model.name,
        "items": int(first.shape[0]),
        "dim": int(first.shape[1]),
        "load_s": round(load_s, 3),
        "encode_s": round(cold_s, 3),
        "encoded": cold_n,
        "cached_s": round(cached_s, 3),
        "cached_encoded": cached_n,
        "changed_s": round(changed_s, 3),
        "changed_encoded": changed_n,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def render_markdown(record: dict[str, Any], command: str) -> str:
    """The docs section of one run."""
    lines = [
        f"### {SUITE_NAME}",
        "",
        f"Item texts of {record['dataset']} ({record['items']} items) with "
        f"`{record['encoder']}` ({record['dim']} dims), {record['cpu_count']} CPUs, torch "
        f"threads {record['torch_threads']}, load average {record['load_avg_1m']} at the end.",
        "",
        "| step | seconds | texts encoded |",
        "|---|---|---|",
        f"| load the model | {record['load_s']:.2f} | – |",
        f"| encode every item (empty cache) | {record['encode_s']:.2f} | {record['encoded']} |",
        f"| same call again (cache) | {record['cached_s']:.3f} | {record['cached_encoded']} |",
        f"| one title changed | {record['changed_s']:.3f} | {record['changed_encoded']} |",
        "",
        f"- Produced by: `{command}`",
        "",
    ]
    return "\n".join(lines)


def write(record: dict[str, Any], out_dir: Path, command: str, docs: Path | None) -> Path:
    """Write ``result.json`` and ``report.md`` under ``out_dir``; update ``docs``."""
    import json

    from ssl4rec.bench.report import update_doc

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "result.json").write_text(json.dumps({**record, "command": command}, indent=2))
    body = render_markdown(record, command)
    report = out_dir / "report.md"
    report.write_text(body, encoding="utf-8")
    if docs is not None:
        update_doc(docs, SUITE_NAME, body)
    return report
