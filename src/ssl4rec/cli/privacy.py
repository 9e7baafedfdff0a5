"""``ssl4rec privacy audit|encrypt`` and ``ssl4rec forget``: privacy of a run folder.

``audit RUN_DIR`` re-makes the run's split and held-out users from its
``config.yaml`` and attacks the saved model (``ssl4rec.privacy.audit``);
``encrypt RUN_DIR --key-file KEY`` encrypts the model folder's personal files;
``forget RUN_DIR --user ID`` removes a user's stored history (and, with ``--db``,
its events).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ssl4rec.cli._output import echo_json, format_table
from ssl4rec.cli.explain import _folders

app = typer.Typer(help="Privacy of a run: membership audit, encryption.", no_args_is_help=True)

KeyFile = Annotated[
    Path | None,
    typer.Option("--key-file", "--db-key-file", help="Key file (64 hex characters; default $SSL4REC_DB_KEY)."),
]


@app.command("audit")
def audit_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `ssl4rec train`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    users: Annotated[int, typer.Option(help="Users scored per group (members, non-members).", min=10)] = 1000,
    rounds: Annotated[int, typer.Option(help="Bootstrap resamples.", min=100)] = 1000,
    key_file: KeyFile = None,
) -> None:
    """Membership-inference attacks against the run's model: AUC with a 95% interval."""
    from ssl4rec.errors import ConfigError
    from ssl4rec.models.base import load_model
    from ssl4rec.privacy.audit import audit_membership
    from ssl4rec.privacy.crypto import read_key, using_key
    from ssl4rec.privacy.holdout import hold_out_users
    from ssl4rec.runner import load_data, make_experiment_split
    from ssl4rec.runner.experiment import load_experiment

    model_dir, experiment = _folders(run_dir)
    if experiment is None:
        raise ConfigError(f"{run_dir}: audit needs a run folder with config.yaml (`ssl4rec train --out`)")
    config = load_experiment(experiment)
    if config.privacy is None or config.privacy.holdout_users <= 0:
        raise ConfigError(
            f"{experiment}: the run held no users out (no privacy section); train with "
            "privacy: {target_epsilon: null} (or a budget) to audit it"
        )
    with using_key(read_key(key_file)):
        model = load_model(model_dir)
    split = make_experiment_split(load_data(config.data), config.split)
    split, nonmembers = hold_out_users(split, config.privacy.holdout_users, config.privacy.holdout_seed)
    result: dict[str, Any] = {
        "model": model.name,
        "epsilon": (model.privacy or {}).get("epsilon"),
        **audit_membership(
            model, split.train, nonmembers, max_users=users, rounds=rounds, seed=config.privacy.holdout_seed
        ),
    }
    if as_json:
        echo_json(result)
        return
    eps = result["epsilon"]
    typer.echo(
        f"membership audit of {model.name} ({'non-private' if eps is None else f'ε = {eps}'}): "
        f"{result['members']} members vs {result['nonmembers']} held-out users, "
        f"signal: {result['signal']}"
    )
    rows = [
        [name, result[name]["auc"], f"[{result[name]['ci95'][0]}, {result[name]['ci95'][1]}]"]
        for name in ("loss_threshold", "calibrated")
    ]
    typer.echo(format_table(rows, ["attack", "AUC", "95% CI"]))


@app.command("encrypt")
def encrypt_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder or a saved model folder.")],
    key_file: KeyFile = None,
) -> None:
    """Encrypt the model folder's histories and user vocabulary (AES-GCM) in place."""
    from ssl4rec.errors import ConfigError
    from ssl4rec.models.persistence import encrypt_personal_files
    from ssl4rec.privacy.crypto import KEY_ENV, read_key

    key = read_key(key_file)
    if key is None:
        raise ConfigError(f"encrypt needs a key: --key-file KEY or ${KEY_ENV}")
    model_dir, _ = _folders(run_dir)
    done = encrypt_personal_files(model_dir, key)
    typer.echo(f"encrypted in {model_dir}: {', '.join(done) if done else 'nothing new'}")


def forget_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder or a saved model folder.")],
    user: Annotated[str, typer.Option("--user", "-u", help="Raw user id to forget.")],
    db: Annotated[
        str | None, typer.Option(help="Also delete the user's events from this event store.")
    ] = None,
    key_file: KeyFile = None,
) -> None:
    """Remove a user's stored history from a run folder (the weights keep its influence)."""
    from ssl4rec.models.persistence import forget_user
    from ssl4rec.privacy.crypto import read_key, using_key

    key = read_key(key_file)
    model_dir, _ = _folders(run_dir)
    with using_key(key):
        removed = forget_user(model_dir, user)
    typer.echo(f"removed {removed} training events of the user from {model_dir}")
    if db is not None:
        from ssl4rec.serving.settings import ServeSettings
        from ssl4rec.serving.store import EventStore

        store = EventStore(ServeSettings(db=db).db_url, key=key)
        try:
            typer.echo(f"removed {store.delete_user(user)} events of the user from {db}")
        finally:
            store.close()
    typer.echo(
        "the model's weights keep what they learnt from the user until it is retrained "
        "(bounded by ε for a private run; see docs/privacy.md)"
    )
