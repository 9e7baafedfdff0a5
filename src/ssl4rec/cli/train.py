"""``ssl4rec train --config FILE [--out RUN_DIR] [--set section.field=value]``.

``ssl4rec train --resume RUN_DIR`` continues an interrupted run from its last
checkpoint, with the experiment saved in ``RUN_DIR/config.yaml``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from ssl4rec.cli._options import SetOption
from ssl4rec.cli._output import echo_json, metrics_table

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Experiment YAML file, or a shipped config's name (ssl4rec configs list)."
    ),
]


def train_command(
    config: ConfigOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Run folder (default runs/<model>-<time>).")] = None,
    set_: SetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print metrics as JSON.")] = False,
    nproc: Annotated[
        int,
        typer.Option(
            "--nproc",
            min=1,
            help="Train data-parallel in N local processes (torchrun; gloo on CPU, nccl on "
            "CUDA). Effective batch = batch_size x N; see docs/scaling.md.",
        ),
    ] = 1,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            help="Continue the run in this folder from its last checkpoint "
            "(its config.yaml is the experiment; --set may raise model.epochs).",
        ),
    ] = None,
) -> None:
    """Train a model from an experiment config, evaluate it, and save the run folder."""
    from ssl4rec.errors import ConfigError
    from ssl4rec.runner import run_experiment
    from ssl4rec.runner.experiment import load_experiment

    overrides = list(set_ or ())
    if resume is not None:
        if config is not None or out is not None:
            raise ConfigError("--resume takes the run folder's config and folder; drop --config/--out")
        config = resume / "config.yaml"
        if not config.is_file():
            raise ConfigError(f"--resume: {config} not found; not a run folder of ssl4rec train")
        overrides += ["train.resume=true", f"train.run_dir={resume / 'train'}"]
        out = resume
    elif config is None:
        raise ConfigError("ssl4rec train needs --config FILE (or --resume RUN_DIR)")
    else:
        from ssl4rec.config.packaged import config_path

        config = config_path(config)
    experiment = load_experiment(config, overrides=overrides)
    run_dir = out or Path("runs") / f"{experiment.model_name}-{datetime.now():%Y%m%d-%H%M%S}"
    from ssl4rec.training import distributed

    if nproc > 1 and not distributed.launched():  # start the ranks; each runs this command
        args = ["train", "--config", str(config), "--out", str(run_dir)]
        args += [a for item in set_ or () for a in ("--set", item)]
        args += ["--set", "train.resume=true"] if resume is not None else []
        args += ["--json"] if as_json else []
        distributed.launch(nproc, "ssl4rec.cli.main", args)
        return
    if not distributed.is_writer():
        logging.getLogger("ssl4rec").setLevel(logging.WARNING)  # rank 0 reports
    result = run_experiment(experiment, out_dir=run_dir)
    distributed.shutdown()
    if not distributed.is_writer():
        return
    if as_json:
        echo_json({experiment.model_name: result.test.metrics})
        return
    typer.echo(metrics_table({experiment.model_name: result.test.metrics}))
    typer.echo(f"\nrun folder: {run_dir}  (fit {result.fit_seconds:.1f}s, eval {result.eval_seconds:.2f}s)")
