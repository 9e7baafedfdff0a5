"""The explanation heatmap: the plotted matrix is the weights, the file a real PNG."""

from __future__ import annotations

import struct
import sys
import warnings

import numpy as np

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.explain import Explanation
from ssl4rec.explain.plot import MAX_ROWS, heatmap, save_heatmap

TITLES = [f"movie {i}" for i in range(40)]


def _explanations(history_length: int, items: int = 10, method: str = "m") -> list[Explanation]:
    rng = np.random.default_rng(0)
    history = rng.permutation(len(TITLES))[:history_length]
    return [
        Explanation(item=i, method=method, history=history, weights=rng.normal(size=history_length))
        for i in range(items)
    ]


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_the_plotted_matrix_is_the_weights_of_the_last_history_items():
    explanations = _explanations(history_length=30)
    fig = heatmap(explanations, TITLES)
    (ax, _colorbar) = fig.axes
    plotted = np.asarray(ax.images[0].get_array())
    expected = np.stack([e.weights[-MAX_ROWS:] for e in explanations], axis=1)
    assert plotted.shape == (MAX_ROWS, 10)
    np.testing.assert_array_equal(plotted, expected)
    history = explanations[0].history[-MAX_ROWS:]
    assert [t.get_text() for t in ax.get_yticklabels()] == [TITLES[h] for h in history]
    assert [t.get_text() for t in ax.get_xticklabels()] == TITLES[:10]
    assert "m" in ax.get_title()


def test_the_colormap_is_diverging_and_centred_at_zero():
    explanations = _explanations(history_length=5)
    image = heatmap(explanations, TITLES).axes[0].images[0]
    low, high = image.norm.vmin, image.norm.vmax
    largest = max(np.abs(e.weights).max() for e in explanations)
    assert low == -high and high == pytest.approx(largest)
    assert image.norm(0.0) == pytest.approx(0.5)
    assert image.get_cmap().name == "RdBu_r"


def test_save_writes_a_png_of_sensible_size(tmp_path):
    path = save_heatmap(_explanations(history_length=20), tmp_path / "why.png", TITLES)
    width, height = _png_size(path)
    assert 400 <= width <= 2000 and 400 <= height <= 2000
    assert path.stat().st_size > 10_000


def test_one_item_and_one_history_item_still_fit(tmp_path):
    long = [f"a rather long movie title number {i}, the sequel" for i in range(40)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. constrained layout giving up on a tiny figure
        path = save_heatmap(_explanations(history_length=1, items=1), tmp_path / "one.png", long)
    width, height = _png_size(path)
    assert width >= 400 and height >= 300


def test_plotting_leaves_no_pyplot_figures_behind(tmp_path):
    save_heatmap(_explanations(history_length=3), tmp_path / "why.png", TITLES)
    pyplot = sys.modules.get("matplotlib.pyplot")
    assert pyplot is None or pyplot.get_fignums() == []


def test_an_empty_history_or_mixed_methods_are_refused():
    nothing = np.zeros(0, dtype=np.int64)
    empty = [Explanation(item=0, method="popularity", history=nothing, weights=np.zeros(0))]
    with pytest.raises(ConfigError, match="history is empty"):
        heatmap(empty, TITLES)
    mixed = _explanations(3, items=1, method="a") + _explanations(3, items=1, method="b")
    with pytest.raises(ConfigError, match="one history and one method"):
        heatmap(mixed, TITLES)
