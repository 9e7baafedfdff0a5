"""A heatmap of explanation weights: history items × recommended items.

Drawn on a ``matplotlib.figure.Figure`` with the Agg canvas, never through
``pyplot``, so plotting leaves no global state behind (and needs no display).

Example:
    >>> explanations = explain(model, history, top10)
    >>> save_heatmap(explanations, "why.png", titles=item_titles)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from ssl4rec.errors import ConfigError
from ssl4rec.explain.base import Explanation

__all__ = ["MAX_ROWS", "heatmap", "heatmap_matrix", "save_heatmap"]

MAX_ROWS = 20
"""History positions shown: the most recent ones."""
_LABEL_CHARS = 40


def heatmap_matrix(explanations: Sequence[Explanation], *, max_rows: int = MAX_ROWS) -> np.ndarray:
    """The plotted weights: float64 ``(rows, len(explanations))``.

    Row j is the j-th of the last ``max_rows`` history positions (oldest first),
    column i the weights of ``explanations[i]``.

    Raises:
        ConfigError: no explanations, an empty history, or explanations of
            different histories or methods.
    """
    if not explanations:
        raise ConfigError("heatmap(): explanations must not be empty")
    first = explanations[0]
    for e in explanations[1:]:
        if e.method != first.method or not np.array_equal(e.history, first.history):
            raise ConfigError(
                "heatmap(): explanations must share one history and one method; "
                f"got {first.method!r} and {e.method!r}"
            )
    if len(first.history) == 0:
        raise ConfigError(
            f"heatmap(): the history is empty (method {first.method!r}); nothing to plot"
        )
    rows = min(len(first.history), max_rows)
    return np.stack([np.asarray(e.weights, dtype=np.float64)[-rows:] for e in explanations], axis=1)


def heatmap(
    explanations: Sequence[Explanation],
    titles: Sequence[str],
    *,
    max_rows: int = MAX_ROWS,
) -> Figure:
    """A figure of ``heatmap_matrix(explanations)``: history rows, recommendation columns.

    Args:
        explanations: one per recommended item, of the same history and method.
        titles: item titles by item index (labels of rows and columns).
        max_rows: the most recent history positions shown.

    Returns:
        A ``Figure`` with an Agg canvas: a diverging colormap centred at 0 (red pushed
        the item up, blue down), the method in the title.
    """
    matrix = heatmap_matrix(explanations, max_rows=max_rows)
    rows, cols = matrix.shape
    history = explanations[0].history[-rows:]
    # room for 40-character labels: row titles on the left, slanted column titles below
    size = (4.5 + 0.55 * cols, 3.0 + 0.3 * rows)
    fig = Figure(figsize=size, dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    extent = float(np.abs(matrix).max()) or 1.0
    image = ax.imshow(
        matrix,
        cmap="RdBu_r",
        norm=TwoSlopeNorm(vcenter=0.0, vmin=-extent, vmax=extent),
        aspect="auto",
        interpolation="nearest",
    )
    columns = [_label(titles[e.item]) for e in explanations]
    ax.set_xticks(range(cols), columns, rotation=60, ha="right")
    ax.set_yticks(range(rows), [_label(titles[int(h)]) for h in history])
    ax.set_xlabel("recommended")
    ax.set_ylabel(f"history (last {rows}, oldest on top)")
    ax.set_title(f"why recommended: {explanations[0].method}")
    fig.colorbar(image, ax=ax, label="weight")
    return fig


def save_heatmap(
    explanations: Sequence[Explanation],
    path: str | Path,
    titles: Sequence[str],
    *,
    max_rows: int = MAX_ROWS,
) -> Path:
    """Write ``heatmap(explanations, titles)`` as a PNG to ``path``; returns the path."""
    path = Path(path)
    heatmap(explanations, titles, max_rows=max_rows).savefig(path, format="png")
    return path


def _label(title: str) -> str:
    return title if len(title) <= _LABEL_CHARS else title[: _LABEL_CHARS - 1] + "…"
