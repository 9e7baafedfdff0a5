"""``ssl4rec configs list``: the experiment configs shipped inside the package."""

from __future__ import annotations

from typing import Annotated

import typer

from ssl4rec.cli._output import echo_json, format_table

app = typer.Typer(
    help="Experiment configs shipped with ssl4rec (use a name with --config).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List shipped configs: name and the first comment line of each file."""
    from ssl4rec.config.packaged import config_path, list_configs

    rows = []
    for name in list_configs():
        first = config_path(name).read_text(encoding="utf-8").splitlines()[:1]
        about = first[0].lstrip("# ").strip() if first and first[0].startswith("#") else ""
        rows.append((name, about))
    if as_json:
        echo_json([{"name": name, "about": about} for name, about in rows])
        return
    typer.echo(format_table(rows, ["name", "about"]))
