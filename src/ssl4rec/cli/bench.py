"""``ssl4rec bench SUITE``: run a benchmark suite (resumable) and write its report."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from ssl4rec.config.packaged import packaged_names


def bench_command(
    suite: Annotated[
        str,
        typer.Argument(
            help=f"A ready suite ({', '.join(packaged_names('ssl4rec.bench', 'suites'))}), "
            "a YAML file, text-encode (item-text encoding speed), scaling "
            "(time per epoch and memory against events; --models/--dataset pick cells) or "
            "compression (size / latency / accuracy of compressed models)."
        ),
    ],
    seeds: Annotated[
        int | None, typer.Option("--seeds", help="Run seeds 0..N-1 (default: the suite's).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Results folder (default: runs/bench/SUITE).")
    ] = None,
    peer: Annotated[
        list[str] | None, typer.Option("--peer", help="Also run a peer library (recbole).")
    ] = None,
    models: Annotated[
        str | None, typer.Option("--models", help="Comma-separated labels or model names.")
    ] = None,
    report_only: Annotated[
        bool, typer.Option("--report-only", help="Only rebuild the report from results.json.")
    ] = False,
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="Run the suite on this registered dataset.")
    ] = None,
    data_path: Annotated[
        str | None, typer.Option("--data-path", help="Run the suite on this local file/folder.")
    ] = None,
    protocol: Annotated[
        str | None, typer.Option("--protocol", help="Split protocol (loo, temporal_ratio, ...).")
    ] = None,
    update_docs: Annotated[
        bool,
        typer.Option(
            "--update-docs",
            help="Also regenerate the bench:SUITE section of --docs and its plots beside it.",
        ),
    ] = False,
    docs: Annotated[
        Path,
        typer.Option("--docs", help="Markdown file that --update-docs regenerates."),
    ] = Path("docs/benchmarks.md"),
    no_docs: Annotated[
        bool, typer.Option("--no-docs", hidden=True, help="No docs are touched (the default).")
    ] = False,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Run failed cells again on resume.")
    ] = False,
    peer_time_budget: Annotated[
        float | None,
        typer.Option(
            "--peer-time-budget", help="Seconds of training per peer model (overrides the suite)."
        ),
    ] = None,
    peer_venv: Annotated[
        Path | None, typer.Option("--peer-venv", help="RecBole's virtual env (created if missing).")
    ] = None,
) -> None:
    """Run every (model, seed) cell of SUITE, then write the report.

    Finished cells in --out are not run again. Failed cells are recorded with their
    error and the suite goes on. An invalid suite is rejected before anything runs.
    """
    from ssl4rec.bench.report import write_report
    from ssl4rec.bench.runner import run_suite
    from ssl4rec.bench.suite import load_suite

    docs_file = docs if update_docs and not no_docs else None
    if suite == "scaling":
        _scaling(models, dataset, out, docs_file)
        return
    if suite == "text-encode":
        _text_encode(dataset, data_path, out, docs_file)
        return
    if suite == "compression":
        _compression(models, seeds, out, docs_file, report_only=report_only)
        return
    spec = load_suite(suite)
    if dataset or data_path or protocol:
        spec = spec.with_overrides(dataset=dataset, data_path=data_path, protocol=protocol)
    if seeds is not None:
        if seeds < 1:
            raise typer.BadParameter("--seeds must be ≥ 1")
        spec = spec.with_seeds(range(seeds))
    selected = spec.select(models.split(",") if models else None)
    out_dir = out or Path("runs") / "bench" / spec.name
    command = "ssl4rec " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if not report_only:
        options: dict[str, object] = {}
        if peer_time_budget:
            options["time_budget_s"] = peer_time_budget
        if peer_venv:
            options["venv"] = peer_venv
        result = run_suite(
            selected,
            out_dir,
            peers=peer or [],
            retry_failed=retry_failed,
            command=command,
            peer_options=options,
        )
        typer.echo(
            f"{len(result.ran)} cells run, {len(result.skipped)} resumed, "
            f"{len(result.failed)} failed -> {out_dir / 'results.json'}"
        )
    report = write_report(spec, out_dir, docs=docs_file)
    typer.echo(f"report: {report}")
    if docs_file is not None:
        typer.echo(f"docs: {docs_file} (section bench:{spec.name})")


def _scaling(models: str | None, datasets: str | None, out: Path | None, docs: Path | None) -> None:
    from ssl4rec.bench import scaling

    cells = scaling.default_cells()
    if models:
        cells = [c for c in cells if c[1] in models.split(",")]
    if datasets:
        cells = [c for c in cells if c[0] in datasets.split(",")]
    out_dir = out or Path("runs") / "bench" / "scaling"
    command = "ssl4rec " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    records = scaling.run_scaling(out_dir, cells)
    report = scaling.write(records, out_dir, command, docs)
    typer.echo(report.read_text(encoding="utf-8"))


def _text_encode(
    dataset: str | None, data_path: str | None, out: Path | None, docs: Path | None
) -> None:
    from ssl4rec.bench import text_encode
    from ssl4rec.runner import load_data
    from ssl4rec.runner.experiment import DataConfig

    config = DataConfig(path=data_path) if data_path else DataConfig(dataset=dataset or "ml-100k")
    data = load_data(config)
    label = data_path or dataset or "ml-100k"
    record = text_encode.run_text_encode(data, dataset=label)
    command = "ssl4rec " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    report = text_encode.write(record, out or Path("runs") / "bench" / "text-encode", command, docs)
    typer.echo(report.read_text(encoding="utf-8"))


def _compression(
    cases: str | None, seeds: int | None, out: Path | None, docs: Path | None, *, report_only: bool
) -> None:
    import json

    from ssl4rec.bench import compression

    out_dir = out or Path("runs") / "bench" / "compression"
    command = "ssl4rec " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if report_only:
        results = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))
    else:
        results = compression.run_compression_bench(
            out_dir,
            cases=cases.split(",") if cases else None,
            seeds=list(range(seeds)) if seeds else None,
        )
        results.setdefault("commands", []).append(command)
        compression.save_results(out_dir / "results.json", results)
    report = compression.write(results, out_dir, command, docs)
    typer.echo(report.read_text(encoding="utf-8"))
