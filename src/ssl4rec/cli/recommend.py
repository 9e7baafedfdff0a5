"""``ssl4rec recommend RUN_DIR --user ID -k N``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ssl4rec.cli._output import echo_json, format_table


def recommend_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (or its model/ folder).")],
    user: Annotated[str, typer.Option("--user", "-u", help="Raw user id.")],
    k: Annotated[int, typer.Option("-k", help="Number of items.")] = 10,
    exclude_seen: Annotated[bool, typer.Option("--exclude-seen/--include-seen")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the top-k items for one user, with titles and the history items behind them."""
    from ssl4rec.cli.explain import explained_rows
    from ssl4rec.models.base import load_model

    model_dir = run_dir / "model" if (run_dir / "model").is_dir() else run_dir
    model = load_model(model_dir)
    recs = model.recommend(user, k, exclude_seen=exclude_seen)
    rows = explained_rows(model, user, recs.item_indices[0], recs.scores[0])
    for row in rows:
        del row["explanation"]
    if as_json:
        echo_json({"user": user, "model": model.name, "items": rows})
        return
    typer.echo(
        format_table(
            [
                [r["rank"], r["item"], r["title"], r["score"], "; ".join(r["because"]) or "-"]
                for r in rows
            ],
            ["rank", "item", "title", "score", "because you liked"],
        )
    )
