"""``ssl4rec text enrich``: LLM-written item profiles (or user summaries) for a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ssl4rec.cli._output import echo_json

app = typer.Typer(help="Item text: LLM-written profiles.", no_args_is_help=True)


@app.command("enrich")
def enrich_command(
    config: Annotated[
        str,
        typer.Option("--config", "-c", help="Experiment YAML or shipped name (its data section)."),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Parquet file: item_id (or user_id), profile.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible API root, e.g. http://127.0.0.1:8000/v1.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Chat model name on that server.")] = None,
    users: Annotated[
        bool, typer.Option("--users", help="Write user preference summaries instead of items.")
    ] = False,
    template: Annotated[
        str | None, typer.Option(help="Item-text template of the prompts (default: all fields).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N items (or users).")] = None,
    concurrency: Annotated[int, typer.Option(help="Requests in flight.")] = 4,
    max_retries: Annotated[int, typer.Option(help="Retries per prompt.")] = 3,
    timeout: Annotated[float, typer.Option(help="Seconds per request.")] = 60.0,
    cache_dir: Annotated[Path | None, typer.Option(help="Answer cache folder.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the prompts; send nothing.")
    ] = False,
) -> None:
    """Ask a chat model for a short profile per item (off unless --base-url and --model are given)."""
    import polars as pl

    from ssl4rec.config.packaged import config_path
    from ssl4rec.errors import ConfigError
    from ssl4rec.runner.experiment import load_experiment
    from ssl4rec.runner.run import load_data
    from ssl4rec.text.enrich import (
        ITEM_SYSTEM,
        USER_SYSTEM,
        EnrichConfig,
        enrich,
        item_prompts,
        user_prompts,
    )

    data = load_data(load_experiment(config_path(config)).data)
    prompts = user_prompts(data) if users else item_prompts(data, template)
    ids = (data.user_vocab if users else data.item_vocab).to_list()
    if limit is not None:
        prompts, ids = prompts[:limit], ids[:limit]
    system = USER_SYSTEM if users else ITEM_SYSTEM
    if dry_run:
        typer.echo(f"# system\n{system}\n")
        for raw, prompt in zip(ids, prompts, strict=True):
            typer.echo(f"# {raw}\n{prompt}\n")
        typer.echo(f"{len(prompts)} prompt(s); nothing sent (--dry-run)")
        return
    if base_url is None or model is None or out is None:
        raise ConfigError("text enrich needs --base-url, --model and --out (or --dry-run)")
    settings = EnrichConfig(
        base_url=base_url,
        model=model,
        concurrency=concurrency,
        max_retries=max_retries,
        timeout_s=timeout,
        cache_dir=str(cache_dir) if cache_dir is not None else None,
    )
    report = enrich(prompts, settings, system=system)
    key = "user_id" if users else "item_id"
    out.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {key: ids, "profile": report.profiles}, schema={key: pl.Utf8, "profile": pl.Utf8}
    ).write_parquet(out)
    echo_json({"written": str(out), **report.summary()})
