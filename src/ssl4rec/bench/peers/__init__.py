"""Peer harnesses: the same models in another library, on our exact split.

Each peer module provides ``run_cell(...) -> record``; records carry the same fields
as ours (metrics under our metric names, ``fit_s``, ``time_to_best_s``,
``seconds_per_epoch``, ``eval_s``, ``peak_rss_mb``) plus ``side`` = the peer's name.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ssl4rec.bench.suite import ModelEntry, Suite

__all__ = ["PEERS", "run_peer_cell"]

PEERS = ("recbole",)


def run_peer_cell(
    peer: str,
    *,
    suite: Suite,
    entry: ModelEntry,
    seed: int,
    cell_dir: Path,
    work_dir: Path,
    base: dict[str, Any],
    options: dict[str, Any],
) -> dict[str, Any]:
    """Run one (model, seed) cell in peer library ``peer``; see ``peers.recbole``."""
    if peer == "recbole":
        from ssl4rec.bench.peers import recbole

        return recbole.run_cell(
            suite=suite,
            entry=entry,
            seed=seed,
            cell_dir=cell_dir,
            work_dir=work_dir,
            base=base,
            options=options,
        )
    raise ValueError(f"unknown peer {peer!r}; known: {list(PEERS)}")
