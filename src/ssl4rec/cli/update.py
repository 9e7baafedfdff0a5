"""``ssl4rec update RUN_DIR --db EVENTS [--since T] --out NEW_RUN_DIR``: one online update.

Warm-starts the model of ``RUN_DIR`` on the events stored since its last update
(``RUN_DIR/update.json``, else every stored event; ``--since`` also drops events
older than a timestamp), guarded on the most recent of them
(``ssl4rec.runner.online``). Exit status: 0 when the update was accepted (written
to ``NEW_RUN_DIR``) or when there was nothing to do (nothing written); 3 when the
guard rejected it (written to ``NEW_RUN_DIR/rejected`` with the reason).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ssl4rec.cli._output import echo_json

REJECTED_EXIT = 3


def update_command(
    run_dir: Annotated[Path, typer.Argument(help="Run folder (or saved model folder) now served.")],
    db: Annotated[
        str,
        typer.Option("--db", help="Event store: SQLite file or SQLAlchemy URL (as serve --db)."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for the updated run.")],
    since: Annotated[
        int | None,
        typer.Option(help="Only events with timestamp ≥ this (seconds, as stored)."),
    ] = None,
    epochs: Annotated[int, typer.Option(help="Most epochs of warm-started training.")] = 5,
    holdout: Annotated[
        float, typer.Option(help="Share of the new events (most recent) held out for the guard.")
    ] = 0.2,
    replay: Annotated[
        float, typer.Option(help="Replayed users without new events per user with new events.")
    ] = 1.0,
    tolerance: Annotated[
        float, typer.Option(help="Accept when held-out NDCG@10 ≥ the served model's − this.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the replay sample and training.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Warm-start the served model on new events; keep it only if it is not worse."""
    from ssl4rec.errors import ConfigError
    from ssl4rec.models.base import load_model
    from ssl4rec.runner.online import UpdateConfig, update_model
    from ssl4rec.serving.app import resolve_model_dir
    from ssl4rec.serving.catalog import stored_events
    from ssl4rec.serving.live import read_last_event_id, write_update_json
    from ssl4rec.serving.settings import ServeSettings
    from ssl4rec.serving.store import EventStore

    if out.resolve() == Path(run_dir).resolve():
        raise ConfigError(f"--out must differ from RUN_DIR ({run_dir}): the served run is kept")
    config = UpdateConfig(
        epochs=epochs, holdout=holdout, replay=replay, tolerance=tolerance, seed=seed
    )
    model_dir = resolve_model_dir(run_dir)
    model = load_model(model_dir)
    seen = read_last_event_id(model_dir)
    store = EventStore(ServeSettings(db=db).db_url)
    try:
        rows = stored_events(store)
    finally:
        store.close()
    new = [(u, i, t) for n, u, i, t in rows if n > seen and (since is None or t >= since)]
    old = [(u, i, t) for n, u, i, t in rows if n <= seen]
    last = max((r[0] for r in rows), default=seen)
    result = update_model(model, new, old_events=old, config=config)
    report = result.to_dict()
    if result.model is None:
        report["written"] = None
        typer.echo(f"nothing to update: {result.reason}; {out} not written")
        if as_json:
            echo_json(report)
        return
    target = out if result.accepted else out / "rejected"
    result.model.save(target / "model")
    write_update_json(target, result, last)
    report["written"] = str(target)
    if as_json:
        echo_json(report)
    else:
        typer.echo(f"{result.reason}; {result.num_events} new events, {result.seconds:.1f} s")
        typer.echo(f"written: {target}" + ("" if result.accepted else " (kept aside)"))
    if not result.accepted:
        raise typer.Exit(REJECTED_EXIT)
