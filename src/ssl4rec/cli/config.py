"""``ssl4rec config show|validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ssl4rec.cli._options import SetOption

app = typer.Typer(
    help="Show and validate experiment configs.", no_args_is_help=True, rich_markup_mode=None
)



@app.command("show")
def show_command(
    path: Path,
    resolved: Annotated[
        bool,
        typer.Option(
            "--resolved/--as-written",
            help="Print with every default filled in, or the file as written.",
        ),
    ] = True,
    set_: SetOption = None,
) -> None:
    """Print the merged config (defaults < file < --set) as YAML."""
    from ssl4rec.config.packaged import config_path
    from ssl4rec.config.yaml_io import load_yaml
    from ssl4rec.runner.experiment import load_experiment

    path = config_path(path)
    if not resolved:
        typer.echo(Path(path).read_text(encoding="utf-8"))
        load_yaml(path)
        return
    typer.echo(load_experiment(path, overrides=set_ or ()).to_yaml(), nl=False)


@app.command("validate")
def validate_command(paths: list[Path], set_: SetOption = None) -> None:
    """Check configs; exit 2 with every problem listed if one is invalid."""
    from ssl4rec.config.packaged import config_path
    from ssl4rec.runner.experiment import load_experiment

    for path in paths:
        load_experiment(config_path(path), overrides=set_ or ())
        typer.echo(f"ok: {path}")
