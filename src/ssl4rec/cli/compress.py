"""``ssl4rec compress RUN_DIR --method M --out NEW_RUN_DIR``: a smaller or faster run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ssl4rec.cli._output import echo_json


def compress_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `ssl4rec train`.")],
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="int8, int8-dynamic, int8-embeddings, int8-weight-only, fp16, bf16, prune, "
            "prune-structured, distill or onnx.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The new run folder.")],
    sparsity: Annotated[
        float, typer.Option(help="prune: share of weights set to zero, in (0, 1).")
    ] = 0.5,
    epochs: Annotated[
        int, typer.Option(help="prune/distill: epoch limit of the (re)training.")
    ] = 10,
    patience: Annotated[
        int | None,
        typer.Option(help="prune/distill: early-stopping patience (default: the run's)."),
    ] = None,
    time_budget: Annotated[
        float | None, typer.Option(help="prune/distill: seconds of training at most.")
    ] = None,
    student_dim: Annotated[int, typer.Option(help="distill: student embedding_dim.")] = 32,
    student_layers: Annotated[int, typer.Option(help="distill: student num_layers.")] = 1,
    student_heads: Annotated[int, typer.Option(help="distill: student num_heads.")] = 1,
    student_ff_dim: Annotated[int, typer.Option(help="distill: student ff_dim.")] = 64,
    text_dim: Annotated[int, typer.Option(help="distill: PCA width of the text vectors.")] = 32,
    alpha: Annotated[
        float, typer.Option(help="distill: weight of the teacher term, in [0, 1].")
    ] = 0.5,
    temperature: Annotated[float, typer.Option(help="distill: softmax temperature.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Seed of the (re)training and the ONNX check.")] = 0,
) -> None:
    """Quantize, prune, distill or export a trained model into a new run folder.

    The new folder works with evaluate, recommend, serve and explain as it is; its
    model/meta.json records what was done.
    """
    from ssl4rec.compress import CompressConfig, compress_run

    config = CompressConfig(
        method=method,  # type: ignore[arg-type]  # CompressConfig checks it
        sparsity=sparsity,
        finetune_epochs=epochs,
        patience=patience,
        time_budget_s=time_budget,
        student_dim=student_dim,
        student_layers=student_layers,
        student_heads=student_heads,
        student_ff_dim=student_ff_dim,
        text_dim=text_dim,
        alpha=alpha,
        temperature=temperature,
        seed=seed,
    )
    record = compress_run(run_dir, out, config)
    keys = (
        "method",
        "bytes_before",
        "bytes_after",
        "params_before",
        "params_after",
        "sparsity_all",
        "onnx",
    )
    echo_json({k: record[k] for k in keys if k in record})
