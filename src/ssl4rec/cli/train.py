"""``ssl4rec train --config FILE [--out RUN_DIR] [--set section.field=value]``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from ssl4rec.cli._output import echo_json, metrics_table

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Experiment YAML file.")]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a field: section.field=value (repeatable)."),
]


def train_command(
    config: ConfigOption,
    out: Annotated[Path | None, typer.Option("--out", help="Run folder (default runs/<model>-<time>).")] = None,
    set_: SetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print metrics as JSON.")] = False,
) -> None:
    """Train a model from an experiment config, evaluate it, and save the run folder."""
    from ssl4rec.runner import run_experiment
    from ssl4rec.runner.experiment import load_experiment

    experiment = load_experiment(config, overrides=set_ or ())
    run_dir = out or Path("runs") / f"{experiment.model_name}-{datetime.now():%Y%m%d-%H%M%S}"
    result = run_experiment(experiment, out_dir=run_dir)
    if as_json:
        echo_json({experiment.model_name: result.test.metrics})
        return
    typer.echo(metrics_table({experiment.model_name: result.test.metrics}))
    typer.echo(f"\nrun folder: {run_dir}  (fit {result.fit_seconds:.1f}s, eval {result.eval_seconds:.2f}s)")
