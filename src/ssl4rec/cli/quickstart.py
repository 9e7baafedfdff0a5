"""``ssl4rec quickstart``: ml-100k end to end in under two minutes on 2 CPU cores.

Fetches ml-100k, splits it with ``temporal_ratio``, trains Pop, ItemKNN and EASE
(λ chosen on validation), encodes the item texts (title, year, genres) with
all-MiniLM-L6-v2 (cached: a second run encodes nothing) and trains the
text-enhanced SASRec (ID + text adaptor) for a fixed number of epochs on one thread,
so the printed numbers do not depend on the machine's load. It evaluates all of them
with full ranking on the test split, prints a metrics table, then the top-10 titles
for one user from the best baseline and from SASRec, each with the history items
that drove it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ssl4rec.cli._output import echo_json, format_table, metrics_table

QUICKSTART_MODELS: list[dict[str, Any]] = [
    {"model": {"name": "pop"}},
    {"model": {"name": "itemknn"}},
    {"model": {"name": "ease"}, "tune": {"l2_reg": [50.0, 100.0, 250.0, 500.0, 1000.0]}},
]
SEQ_EPOCHS = 20
"""SASRec's epochs in the quickstart: a fixed count (no time budget), so the printed
numbers are the same on every machine; the best validation epoch is kept."""
TEXT_MODEL: dict[str, Any] = {
    "model": {
        "name": "sasrec",
        "item_repr": "id+text",
        "seen_bias": True,
        "label_smoothing": 0.1,
        "epochs": SEQ_EPOCHS,
    },
    "train": {"patience": None, "progress": False, "num_threads": 1},
}
"""The text-enhanced sequential model of the quickstart. Label smoothing 0.1 won on
validation here on 3 of 3 seeds (docs/sequential-plus.md)."""
QUICKSTART_METRICS = ["recall@10", "recall@20", "ndcg@10", "ndcg@20", "hit@10", "coverage@10", "novelty@10"]


def quickstart_command(
    user: Annotated[str | None, typer.Option("--user", "-u", help="Raw user id to show (default: the first).")] = None,
    home: Annotated[Path | None, typer.Option("--home", help="Dataset cache folder.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Save each model's run folder under this folder.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON: model -> metric -> value.")] = False,
    text: Annotated[
        bool, typer.Option("--text/--no-text", help="Also encode item texts and train text-enhanced SASRec.")
    ] = True,
    seq_epochs: Annotated[
        int, typer.Option("--seq-epochs", help="Epochs of SASRec (the best on validation is kept).", min=1)
    ] = SEQ_EPOCHS,
) -> None:
    """Train and compare Pop, ItemKNN, EASE and text-enhanced SASRec on MovieLens-100K."""
    from ssl4rec.cli.explain import explained_rows
    from ssl4rec.runner import load_data, make_experiment_split, run_experiment
    from ssl4rec.runner.experiment import ExperimentConfig

    started = time.perf_counter()
    base = {"data": {"dataset": "ml-100k"}, "split": {"protocol": "temporal_ratio"}}
    configs = [
        ExperimentConfig.from_dict({**base, **entry, "eval": {"metrics": QUICKSTART_METRICS}})
        for entry in QUICKSTART_MODELS
    ]
    if text:
        entry = {**TEXT_MODEL, "model": {**TEXT_MODEL["model"], "epochs": seq_epochs}}
        configs.append(ExperimentConfig.from_dict({**base, **entry, "eval": {"metrics": QUICKSTART_METRICS}}))
    data = load_data(configs[0].data, home=home)
    split = make_experiment_split(data, configs[0].split)
    notes: list[str] = []
    item_text: dict[str, Any] = {}  # model name -> its item text vectors
    if text:
        item_text["sasrec"], note = _encode_texts(split.train, configs[-1])
        notes.append(note)
    results = {}
    models = {}
    chosen: list[str] = []  # what tuning on validation picked, per model
    for config in configs:
        run_dir = out / config.model_name if out is not None else None
        result = run_experiment(
            config, split=split, out_dir=run_dir, item_text=item_text.get(config.model_name)
        )
        results[config.model_name] = result.test.metrics
        models[config.model_name] = result.model
        for field, values in config.tune.items():
            picked = getattr(result.model.config, field)
            chosen.append(
                f"{config.model_name}: {field} = {picked:g} chosen on the validation split "
                f"(ndcg@10) among {', '.join(f'{v:g}' for v in values)}"
            )
    if as_json:
        echo_json(results)
        return
    typer.echo(
        f"MovieLens-100K: {data.num_users} users, {data.num_items} items, {len(data)} events; "
        f"split temporal_ratio 80/10/10 per user\n"
    )
    for note in notes + chosen:
        typer.echo(note)
    if text:
        summary = models["sasrec"].train_summary
        typer.echo(
            f"sasrec (ID + text): {summary['epochs_run']} epochs on one thread, the best on "
            f"the validation split (epoch {summary['best_epoch']}) kept\n"
        )
    typer.echo(
        f"test split (each user's latest 10% of events; {len(split.test)} events), full "
        f"ranking over all {data.num_items} items, items seen before the test excluded:"
    )
    typer.echo(metrics_table(results))
    typer.echo(
        "coverage@10: share of the catalog that appears in some user's top 10; novelty@10: "
        "mean -log2(share of training users who had the item) over the top 10 (higher: "
        "less popular items)"
    )
    if text:
        typer.echo(
            "note: sasrec scores each test event from the train + valid history before it "
            "(the sequential convention); pop, itemknn and ease score from train only"
        )
    baselines = [m for m in results if m != "sasrec"]
    best = max(baselines, key=lambda m: results[m].get("ndcg@10", 0.0))
    shown = user if user is not None else str(models[best].user_vocab.ids[0])
    shows = [(best, "best baseline by ndcg@10")]
    if text:
        shows.append(("sasrec", "text-enhanced, reads the history in order"))
    for name, why in shows:
        model = models[name]
        recs = model.recommend(shown, 10)
        rows = explained_rows(model, shown, recs.item_indices[0], recs.scores[0], top=2)
        method = rows[0]["method"] if rows else "-"
        typer.echo(f"\ntop-10 for user {shown} from {name} ({why}; reasons by {method}):")
        typer.echo(
            format_table(
                [[r["rank"], r["title"], "; ".join(r["because"]) or "-"] for r in rows],
                ["rank", "title", "because you liked"],
            )
        )
    typer.echo(f"\ndone in {time.perf_counter() - started:.1f}s")


def _encode_texts(train: Any, config: Any) -> tuple[Any, str]:
    """Encode (or read from the cache) the item texts SASRec will use.

    Returns:
        The ``(num_items, t)`` vectors and a line to print.
    """
    from ssl4rec.text.cache import item_embeddings
    from ssl4rec.text.sentence_transformers import SentenceTransformerEncoder

    start = time.perf_counter()
    encoder = SentenceTransformerEncoder(config.model.text_encoder)
    loaded = time.perf_counter()
    vectors = item_embeddings(
        train, encoder, template=config.model.text_template, cache_dir=config.model.text_cache_dir
    )
    done = time.perf_counter()
    return vectors, (
        f"item texts: {vectors.shape[0]} vectors of {vectors.shape[1]} dims from {encoder.name} "
        f"(model load {loaded - start:.1f}s, encoding or cache read {done - loaded:.1f}s)"
    )
