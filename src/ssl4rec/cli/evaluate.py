"""``ssl4rec evaluate RUN_DIR``: re-evaluate a saved run on its split."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ssl4rec.cli._output import echo_json, metrics_table


def evaluate_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `ssl4rec train`.")],
    metrics: Annotated[
        list[str] | None, typer.Option("--metric", "-m", help="Metric@K (repeatable); default: the config's.")
    ] = None,
    part: Annotated[str, typer.Option(help="test or valid.")] = "test",
    exclude_seen: Annotated[bool, typer.Option("--exclude-seen/--include-seen")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON: model -> metric -> value.")] = False,
) -> None:
    """Load the model of a run folder and evaluate it with full ranking."""
    from ssl4rec.evaluation.evaluator import evaluate
    from ssl4rec.models.base import load_model
    from ssl4rec.runner import load_data, make_experiment_split
    from ssl4rec.runner.experiment import load_experiment

    experiment = load_experiment(run_dir / "config.yaml")
    model = load_model(run_dir / "model")
    split = make_experiment_split(load_data(experiment.data), experiment.split)
    result = evaluate(
        model,
        split,
        part=part,
        metrics=list(metrics or experiment.eval.metrics),
        exclude_seen=exclude_seen,
    )
    if as_json:
        echo_json({experiment.model_name: result.metrics})
        return
    typer.echo(metrics_table({experiment.model_name: result.metrics}))
