"""Run experiments: the experiment config, one end-to-end run, grid search on validation.

This layer sits above models, training and evaluation: it loads data, builds the
model (with item text vectors when its config asks for them), tunes, fits and
evaluates. The CLI, the quickstart and the benchmark suites all come through here.
"""

from ssl4rec.runner.run import (
    EncodedItemText,
    RunResult,
    build_model,
    item_text_source,
    load_data,
    make_experiment_split,
    run_experiment,
)

__all__ = [
    "EncodedItemText",
    "RunResult",
    "build_model",
    "item_text_source",
    "load_data",
    "make_experiment_split",
    "run_experiment",
]
