"""``ssl4rec text``: item-text tools.

``enrich`` asks a chat model for item profiles (or user summaries); ``finetune``
trains the item-text encoder on a dataset's training histories.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ssl4rec.cli._options import SetOption
from ssl4rec.cli._output import echo_json

app = typer.Typer(
    help="Item text: LLM-written profiles, encoder fine-tuning.", no_args_is_help=True
)


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


@app.command("finetune")
def finetune_command(
    config: Annotated[
        str,
        typer.Option(
            "--config", "-c", help="Experiment YAML or shipped name (its data, split and model)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for the fine-tuned encoder.")],
    set_: SetOption = None,
    epochs: Annotated[int, typer.Option(help="Passes over the pairs.")] = 1,
    pairs: Annotated[int, typer.Option(help="Most distinct pairs kept (0: all).")] = 20_000,
    batch_size: Annotated[int, typer.Option(help="Pairs per step (in-batch negatives).")] = 32,
    learning_rate: Annotated[float, typer.Option("--lr", help="AdamW step size.")] = 5e-5,
    window: Annotated[int, typer.Option(help="Items this many steps apart form a pair.")] = 1,
    layers: Annotated[int, typer.Option(help="Last transformer layers trained.")] = 2,
    lora: Annotated[
        bool, typer.Option("--lora", help="Train LoRA adapters instead of the last layers.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of pair sampling and training.")] = 0,
    max_seq_length: Annotated[
        int | None, typer.Option(help="Tokens per text (default: the encoder's).")
    ] = None,
    threads: Annotated[int | None, typer.Option(help="Torch threads (default: torch's).")] = None,
) -> None:
    """Fine-tune the config's text encoder on item pairs of its split's training part.

    Pairs come from the training histories only, so the validation and test items of
    the experiment's split stay unseen. Point ``model.text_encoder`` at ``--out`` to
    train with the result.
    """
    import time

    from ssl4rec.config.packaged import config_path
    from ssl4rec.runner.experiment import load_experiment
    from ssl4rec.runner.run import load_data, make_experiment_split
    from ssl4rec.text.finetune import FinetuneConfig, finetune_encoder
    from ssl4rec.text.sentence_transformers import DEFAULT_MODEL, SentenceTransformerEncoder

    experiment = load_experiment(config_path(config), overrides=list(set_ or ()))
    model = experiment.model
    settings = FinetuneConfig(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        num_pairs=pairs or None,
        window=window,
        trainable="lora" if lora else "last_layers",
        num_trainable_layers=layers,
        seed=seed,
    )
    encoder = SentenceTransformerEncoder(
        getattr(model, "text_encoder", DEFAULT_MODEL),
        max_seq_length=max_seq_length,
        num_threads=threads,
    )
    split = make_experiment_split(load_data(experiment.data), experiment.split)
    start = time.perf_counter()
    finetune_encoder(
        encoder, split.train, settings, out_dir=out, template=getattr(model, "text_template", None)
    )
    meta = json.loads((out / "ssl4rec_finetune.json").read_text(encoding="utf-8"))
    echo_json(
        {
            "written": str(out),
            "encoder": SentenceTransformerEncoder(out).name,  # as model.text_encoder names it
            "num_pairs": meta["num_pairs"],
            "epoch_losses": meta["epoch_losses"],
            "seconds": round(time.perf_counter() - start, 1),
            "use": f"model.text_encoder: {out}",
        }
    )
