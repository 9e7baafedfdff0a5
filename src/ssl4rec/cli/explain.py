"""``ssl4rec explain RUN_DIR --user ID``: why items were recommended, and how faithfully.

Without ``--item`` it explains the user's top-10 with the model's default method;
``--png`` draws the weights as a heatmap, ``--fidelity`` measures every supported
method (deletion and insertion curves, ``ssl4rec.explain.fidelity``) on a seeded
sample of users instead. ``explained_rows`` is also what ``ssl4rec recommend`` and
the quickstart print their "because you liked" column from.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ssl4rec.cli._output import echo_json, format_table

if TYPE_CHECKING:
    from ssl4rec.explain import Explanation

TOP_K = 10
"""Recommendations explained when no ``--item`` is given."""
FIDELITY_KEYS = (
    "deletion_auc",
    "random_deletion_auc",
    "recent_deletion_auc",
    "insertion_auc",
    "share_beats_random",
)


def explain_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (or its model/ folder).")],
    user: Annotated[str | None, typer.Option("--user", "-u", help="Raw user id.")] = None,
    item: Annotated[
        str | None, typer.Option("--item", help="Explain this raw item id (default: the top-10).")
    ] = None,
    method: Annotated[
        str | None,
        typer.Option("--method", "-m", help="Explanation method (default: the model's own)."),
    ] = None,
    png: Annotated[
        Path | None, typer.Option("--png", help="Also draw the weights as a heatmap PNG.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    fidelity: Annotated[
        bool,
        typer.Option("--fidelity", help="Measure each supported method on a sample of users."),
    ] = False,
    users: Annotated[
        int, typer.Option("--users", help="Users sampled by --fidelity.", min=1)
    ] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the --fidelity sample.")] = 0,
) -> None:
    """Explain one user's recommendations, or measure explanation fidelity."""
    from ssl4rec.errors import ConfigError
    from ssl4rec.explain import supported_methods
    from ssl4rec.explain.base import item_titles
    from ssl4rec.models.base import load_model

    model_dir, experiment = _folders(run_dir)
    model = load_model(model_dir)
    supported = supported_methods(model)
    if method is not None and method not in supported:
        raise ConfigError(
            f"--method must be one of {supported} for {type(model).__name__}; got {method!r}"
        )
    if fidelity:
        if user is not None or item is not None or png is not None:
            raise ConfigError(
                "--fidelity measures a sample of users; drop --user, --item and --png"
            )
        _fidelity(
            experiment,
            model,
            [method] if method else supported,
            users=users,
            seed=seed,
            as_json=as_json,
        )
        return
    if user is None:
        raise ConfigError("ssl4rec explain needs --user ID (or --fidelity)")
    assert model.user_vocab is not None and model.item_vocab is not None
    assert model.history is not None
    history = model.history.sequence(model.user_vocab.index(user))  # unknown: named
    if item is None:
        recs = model.recommend(user, TOP_K)
        items = [int(i) for i in recs.item_indices[0]]
        scores = [float(s) for s in recs.scores[0]]
        ranks: list[int | None] = list(range(1, len(items) + 1))
    else:
        items = [model.item_vocab.index(item)]
        ranks, scores = _rank(model, model.user_vocab.index(user), items[0])
    text: dict[str, Any] = {}
    if as_json and len(history) and _reads_item_text(model):
        text = _text_encoding(experiment, model)  # the words of each item's text get weights
    rows = explained_rows(model, user, items, scores, method=method, ranks=ranks, **text)
    explanations = [row.pop("explanation") for row in rows]
    titles = item_titles(model)
    if png is not None:
        from ssl4rec.explain.plot import save_heatmap

        save_heatmap(explanations, png, titles)
    if as_json:
        for row, e in zip(rows, explanations, strict=True):
            row.update(
                sentence=e.sentence,
                tokens=[[word, weight] for word, weight in e.tokens],
                weights=[
                    {"item": raw, "title": titles[h], "weight": float(w)}
                    for h, raw, w in zip(
                        e.history, model.item_vocab.raw(e.history), e.weights, strict=True
                    )
                ],
            )
        echo_json({"user": user, "model": model.name, "items": rows})
    else:
        typer.echo(
            format_table(
                [
                    [
                        r["rank"] if r["rank"] is not None else "seen",
                        r["title"],
                        _because(e, titles),
                        r["method"],
                    ]
                    for r, e in zip(rows, explanations, strict=True)
                ],
                ["rank", "title", "because", "method"],
            )
        )
    if png is not None:
        typer.echo(f"heatmap: {png}", err=as_json)


def explained_rows(
    model: Any,
    user: object,
    items: Sequence[int],
    scores: Sequence[float],
    *,
    method: str | None = None,
    ranks: Sequence[int | None] | None = None,
    top: int = 3,
    encoder: Any = None,
    item_texts: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """One row per item: rank, raw item id, title, score, method, because, explanation.

    ``because`` holds the titles of the ``top`` history items that pushed the item up
    most (``Explanation.top``), from ``ssl4rec.explain.explain`` with ``method`` (the
    model's default when None); ``explanation`` is the ``Explanation`` itself.
    ``encoder`` and ``item_texts`` go to ``explain`` (token weights of text models).

    Raises:
        UnknownIdError: an unknown user (named).
        ConfigError: a method the model does not support (the supported ones listed).
    """
    from ssl4rec.explain import explain
    from ssl4rec.explain.base import item_titles

    history = model.history.sequence(model.user_vocab.index(user))
    explanations = (
        explain(model, history, items, method=method, encoder=encoder, item_texts=item_texts)
        if len(items)
        else []
    )
    titles = item_titles(model)
    raw = model.item_vocab.raw(list(items)) if len(items) else []
    return [
        {
            "rank": ranks[n] if ranks is not None else n + 1,
            "item": str(raw[n]),
            "title": titles[int(item)],
            "score": float(score),
            "method": e.method,
            "because": [titles[h] for h, _ in e.top(top)],
            "explanation": e,
        }
        for n, (item, score, e) in enumerate(zip(items, scores, explanations, strict=True))
    ]


def _because(e: Explanation, titles: Sequence[str], top: int = 3) -> str:
    """The strongest history items with their weights, or the explanation's own sentence."""
    strongest = e.top(top)
    if not strongest:
        return e.sentence
    return "; ".join(f"{titles[h]} ({w:.3g})" for h, w in strongest)


def _rank(model: Any, user: int, item: int) -> tuple[list[int | None], list[float]]:
    """The item's rank among the user's unseen items (None if seen) and its score."""
    import numpy as np
    import torch

    with torch.no_grad():
        scores = model.score(np.array([user])).float().cpu().numpy()[0]
    seen = model.history.sequence(user)
    score = float(scores[item])
    if item in set(seen.tolist()):
        return [None], [score]
    scores[seen] = -np.inf
    return [int((scores > score).sum()) + 1], [score]


def _reads_item_text(model: Any) -> bool:
    from ssl4rec.explain.tokens import reads_item_text

    return reads_item_text(model)


def _folders(path: Path) -> tuple[Path, Path | None]:
    """The model folder and the run's experiment config (None for a bare model folder)."""
    if (path / "model").is_dir():
        config = path / "config.yaml"
        return path / "model", config if config.is_file() else None
    config = path.parent / "config.yaml"
    return path, config if path.name == "model" and config.is_file() else None


def _text_encoding(experiment: Path | None, model: Any) -> dict[str, Any]:
    """``encoder`` and ``item_texts`` for ``explain``: the model's encoder and item texts.

    The texts are rendered from the run's training data with the model's template, as
    in training.
    """
    import logging

    from ssl4rec.text.sentence_transformers import SentenceTransformerEncoder
    from ssl4rec.text.templates import item_texts

    if experiment is None:
        logging.getLogger(__name__).warning(
            "no token weights: a bare model folder (the run folder's config.yaml names the "
            "data the item texts come from)"
        )
        return {}
    split = _run_split(experiment)
    return {
        "encoder": SentenceTransformerEncoder(model.config.text_encoder),
        "item_texts": item_texts(split.train, model.config.text_template),
    }


def _run_split(experiment: Path) -> Any:
    """The split a run trained on, re-made from its experiment config."""
    from ssl4rec.runner import load_data, make_experiment_split
    from ssl4rec.runner.experiment import load_experiment

    config = load_experiment(experiment)
    return make_experiment_split(load_data(config.data), config.split)


def _fidelity(
    experiment: Path | None,
    model: Any,
    methods: list[str],
    *,
    users: int,
    seed: int,
    as_json: bool,
) -> None:
    import time

    from ssl4rec.errors import ConfigError
    from ssl4rec.explain.fidelity import MAX_K, compare_fidelity

    if experiment is None:
        raise ConfigError(
            "--fidelity needs a run folder written by `ssl4rec train` (its config.yaml names "
            "the data and the split); got a bare model folder"
        )
    split = _run_split(experiment)
    started = time.perf_counter()
    results = compare_fidelity(model, split, methods, users=users, seed=seed)
    seconds = time.perf_counter() - started
    if as_json:
        echo_json({m: {key: r[key] for key in FIDELITY_KEYS} for m, r in results.items()})
        return
    measured = next(iter(results.values()))["users"] if results else 0
    typer.echo(
        f"fidelity of {model.name}'s explanations over {measured} users (seed {seed}), "
        f"removing or inserting up to {MAX_K} history items; curve: the top-1 "
        "recommendation's reciprocal rank among unseen items"
    )
    typer.echo(
        format_table(
            [[m, *(r[key] for key in FIDELITY_KEYS)] for m, r in results.items()],
            [
                "method",
                "deletion",
                "random deletion",
                "recent deletion",
                "insertion",
                "beats random",
            ],
        )
    )
    typer.echo(
        "\ndeletion AUC: lower is better (below both baselines: the method found what the "
        "score rests on); insertion AUC: higher is better; beats random: share of users "
        f"whose deletion AUC is below the random one (done in {seconds:.1f}s)"
    )
