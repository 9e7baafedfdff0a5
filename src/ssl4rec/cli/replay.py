"""``ssl4rec replay CONFIG [--out DIR] [--seeds 0 1 2] [--json]``: static vs folding vs online."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ssl4rec.cli._output import echo_json, format_table


def replay_command(
    config: Annotated[str, typer.Argument(help="Replay YAML, or a shipped name (replay-ml100k).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for replay.json and replay.png.")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a replay field: field=value (repeatable)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print per-policy totals as JSON.")
    ] = False,
) -> None:
    """Stream a dataset in time order; score static, history-folding and online-updated serving."""
    from ssl4rec.runner.replay import POLICIES, load_replay_config, replay

    cfg = load_replay_config(config, overrides=list(set_ or ()))
    result = replay(cfg, out=out)
    totals = result["policies"]
    if as_json:
        echo_json({p: totals[p] for p in POLICIES})
        return
    k = cfg.k
    keys = [f"ndcg@{k}", f"hit@{k}", f"ndcg@{k}_last_third", f"hit@{k}_last_third"]
    rows = [[p, *(totals[p][key] for key in keys)] for p in POLICIES]
    typer.echo(format_table(rows, ["policy", *keys]))
    if out is not None:
        typer.echo(f"written: {out / 'replay.json'}, {out / 'replay.png'}")
