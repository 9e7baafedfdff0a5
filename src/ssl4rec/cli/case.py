"""``ssl4rec case list|show|train|serve``: the application cases in ``cases/``.

A case is a folder of experiment configs with a ``case.yaml`` (``runner.cases``).
``case train NAME`` trains its served config into ``runs/cases/NAME``; ``case serve``
serves every trained case behind one server, each under ``/cases/NAME/`` with the
web page's case switch.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from ssl4rec.cli._options import SetOption
from ssl4rec.cli._output import echo_json, format_table
from ssl4rec.cli.serve import ApiKeyFileOption, HostOption, OpenWritesOption, PortOption

app = typer.Typer(
    help="Application cases (e-commerce, social, music): configs, training, a served demo.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

CasesOption = Annotated[
    Path, typer.Option("--cases", help="Folder of the cases (one sub-folder with case.yaml each).")
]
RunsOption = Annotated[
    Path, typer.Option("--runs", help="Where `case train` puts each case's run (RUNS/NAME).")
]
DEFAULT_CASES = Path("cases")
DEFAULT_RUNS = Path("runs") / "cases"


@app.command("list")
def list_command(
    cases: CasesOption = DEFAULT_CASES,
    runs: RunsOption = DEFAULT_RUNS,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the cases: title, benchmark suite, served config, whether it is trained."""
    from ssl4rec.runner.cases import find_cases

    found = find_cases(cases)
    rows = [
        {
            "name": c.name,
            "title": c.title,
            "suite": c.suite,
            "serve": c.serve,
            "configs": c.configs,
            "trained": (runs / c.name / "model").is_dir(),
        }
        for c in found
    ]
    if as_json:
        echo_json(rows)
        return
    table = [
        (r["name"], r["title"], r["suite"], r["serve"], "yes" if r["trained"] else "no")
        for r in rows
    ]
    typer.echo(format_table(table, ["case", "title", "suite", "served config", "trained"]))


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="Case name (ssl4rec case list).")],
    cases: CasesOption = DEFAULT_CASES,
    runs: RunsOption = DEFAULT_RUNS,
) -> None:
    """What the case asks, its data, licence and source, configs and commands."""
    from ssl4rec.runner.cases import load_case

    case = load_case(cases, name)
    lines = [
        f"{case.title}",
        f"question: {case.question}",
        f"data:     {case.data}",
        f"licence:  {case.licence}",
        f"source:   {case.source}",
        f"configs:  {', '.join(case.configs)} (served: {case.serve})",
        "",
        f"ssl4rec case train {name}            # {case.config_path()} -> {runs / name}",
        f"ssl4rec case serve {name}            # REST + web page on {runs / name}",
        f"ssl4rec bench {case.suite}  # the case's table (docs/cases.md)",
    ]
    typer.echo("\n".join(lines))


@app.command("train")
def train_command(
    name: Annotated[str, typer.Argument(help="Case name (ssl4rec case list).")],
    config: Annotated[
        str | None, typer.Option("--config", "-c", help="A config of the case (default: its served one).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Run folder (default RUNS/NAME).")] = None,
    set_: SetOption = None,
    cases: CasesOption = DEFAULT_CASES,
    runs: RunsOption = DEFAULT_RUNS,
) -> None:
    """Train a case's config (its served one by default), evaluate it, save the run."""
    from ssl4rec.cli.train import train_command as train
    from ssl4rec.runner.cases import load_case

    case = load_case(cases, name)
    train(config=case.config_path(config), out=out or runs / name, set_=set_)


@app.command("serve")
def serve_command(
    names: Annotated[
        list[str] | None, typer.Argument(help="Cases to serve (default: every trained one).")
    ] = None,
    cases: CasesOption = DEFAULT_CASES,
    runs: RunsOption = DEFAULT_RUNS,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    db_dir: Annotated[
        Path, typer.Option(help="Folder of the event stores, one SQLite file per case.")
    ] = Path("events"),
    api_key_file: ApiKeyFileOption = None,
    allow_open_writes: OpenWritesOption = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Serve trained cases behind one server, each at /cases/NAME/ with a case switch."""
    from ssl4rec.errors import ConfigError
    from ssl4rec.runner.cases import find_cases, load_case
    from ssl4rec.serving.settings import CaseLink, check_open_writes, read_api_key

    key = read_api_key(api_key_file)
    warning = check_open_writes(host, key, allow_open_writes=allow_open_writes)
    if names:
        chosen = [load_case(cases, n) for n in names]
        for case in chosen:
            if not (runs / case.name / "model").is_dir():
                raise ConfigError(
                    f"case {case.name!r} has no trained model at {runs / case.name}; "
                    f"run: ssl4rec case train {case.name}"
                )
    else:
        chosen = [c for c in find_cases(cases) if (runs / c.name / "model").is_dir()]
        if not chosen:
            raise ConfigError(
                f"no trained case under {runs}; run e.g.: ssl4rec case train music"
            )
    links = tuple(CaseLink(name=c.name, title=c.title, question=c.question) for c in chosen)

    import uvicorn

    from ssl4rec.models.base import load_model
    from ssl4rec.serving.cases import CaseApp, create_cases_app
    from ssl4rec.serving.settings import ServeSettings

    db_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for case, link in zip(chosen, links, strict=True):
        model_dir = runs / case.name / "model"
        settings = ServeSettings(
            model_dir=str(model_dir),
            db=str(db_dir / f"{case.name}.sqlite"),
            api_key=key,
            case=link,
            cases=links,
        )
        # load before binding the port, so a bad folder fails with one line naming the file
        entries.append(CaseApp(settings, model=load_model(model_dir)))
    app = create_cases_app(entries)
    typer.echo(
        f"serving {len(entries)} case(s) on http://{host}:{port}/ "
        + ", ".join(f"/cases/{c.name}/" for c in chosen)
        + f" (events: {db_dir}/NAME.sqlite, api key: {'on' if key else 'off'})"
    )
    if warning is not None:
        logging.getLogger("ssl4rec.serving").warning(warning)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
