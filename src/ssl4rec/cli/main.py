"""The ``ssl4rec`` command. Subcommands live one per file and import heavy modules lazily.

``ssl4rec --help`` must not import torch (tested).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from ssl4rec import __version__
from ssl4rec.cli import case as case_cmd
from ssl4rec.cli import config as config_cmd
from ssl4rec.cli import configs as configs_cmd
from ssl4rec.cli import datasets as datasets_cmd
from ssl4rec.cli import privacy as privacy_cmd
from ssl4rec.cli import text as text_cmd
from ssl4rec.cli.bench import bench_command
from ssl4rec.cli.compress import compress_command
from ssl4rec.cli.evaluate import evaluate_command
from ssl4rec.cli.explain import explain_command
from ssl4rec.cli.quickstart import quickstart_command
from ssl4rec.cli.recommend import recommend_command
from ssl4rec.cli.replay import replay_command
from ssl4rec.cli.serve import serve_command
from ssl4rec.cli.train import train_command
from ssl4rec.cli.update import update_command

app = typer.Typer(
    name="ssl4rec",
    help="Self-supervised, language-model-enhanced recommendation.",
    no_args_is_help=True,
    add_completion=False,
    # plain help: a flag shows no value placeholder (rich help prints `<bool>` for it)
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.add_typer(datasets_cmd.app, name="datasets")
app.add_typer(config_cmd.app, name="config")
app.add_typer(configs_cmd.app, name="configs")
app.add_typer(text_cmd.app, name="text")
app.command("train")(train_command)
app.command("evaluate")(evaluate_command)
app.command("recommend")(recommend_command)
app.command("explain")(explain_command)
app.command("quickstart")(quickstart_command)
app.command("bench")(bench_command)
app.command("serve")(serve_command)
app.command("compress")(compress_command)
app.add_typer(privacy_cmd.app, name="privacy")
app.command("forget")(privacy_cmd.forget_command)
app.command("update")(update_command)
app.command("replay")(replay_command)
app.add_typer(case_cmd.app, name="case")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ssl4rec {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors.")] = False,
    log_file: Annotated[Path | None, typer.Option(help="Also write the log to this file.")] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Self-supervised, language-model-enhanced recommendation."""
    setup_logging(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO, log_file)


def setup_logging(level: int, log_file: Path | None = None) -> None:
    """Configure the ``ssl4rec`` logger (the only place handlers are set up)."""
    logger = logging.getLogger("ssl4rec")
    logger.setLevel(level)
    logger.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    logger.addHandler(handler)
    if log_file is not None:
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(file_handler)
    logger.propagate = False


def main() -> None:
    """Entry point: run the app, turning ssl4rec errors into one clear line and exit code 2."""
    from ssl4rec.errors import Ssl4recError

    try:
        app()
    except Ssl4recError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
