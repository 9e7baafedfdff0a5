"""The subpackage import graph: acyclic and pointing down the layers; cycles are caught."""

from __future__ import annotations

import pytest

from ssl4rec.dev.import_graph import (
    Graph,
    find_cycle,
    format_mermaid,
    format_text,
    main,
    subpackage_graph,
)


@pytest.fixture(scope="module")
def graph() -> Graph:
    return subpackage_graph("ssl4rec")


def test_real_graph_has_every_subpackage(graph: Graph) -> None:
    for name in ("cli", "config", "data", "dev", "errors", "evaluation", "models", "training"):
        assert name in graph
    assert "ssl4rec" not in graph and all("ssl4rec" not in targets for targets in graph.values())


def test_real_graph_points_down_the_layers(graph: Graph) -> None:
    assert "training" in graph["models"]  # fit() runs the generic trainer
    assert "evaluation" in graph["training"]  # early stopping on a validation metric
    assert "models" not in graph["evaluation"]  # the evaluator sees a Scorer protocol
    assert "models" not in graph["training"]  # the trainer sees a Trainable protocol
    assert graph["errors"] == set()
    assert all(name not in graph[name] for name in graph)


def test_real_graph_has_no_cycle(graph: Graph) -> None:
    assert find_cycle(graph) is None


@pytest.mark.parametrize(
    "edges",
    [
        {"a": {"b"}, "b": {"c"}, "c": {"a"}},
        {"x": {"a"}, "a": {"b", "z"}, "b": {"c"}, "c": {"a"}, "z": set()},
        {"models": {"training"}, "training": {"evaluation"}, "evaluation": {"models"}},
    ],
)
def test_cycle_is_found_in_import_order(edges: Graph) -> None:
    cycle = find_cycle(edges)
    assert cycle is not None
    assert cycle[0] == cycle[-1] and len(cycle) == 4
    for importer, imported in zip(cycle, cycle[1:], strict=False):
        assert imported in edges[importer]


def test_self_import_and_acyclic_graphs() -> None:
    assert find_cycle({"a": {"a"}}) == ["a", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"not-a-key"}}) is None
    assert find_cycle({}) is None


def test_formats() -> None:
    edges: Graph = {"models": {"training", "data"}, "data": set()}
    assert format_text(edges) == "data -> (nothing)\nmodels -> data, training"
    assert format_mermaid(edges).splitlines() == [
        "flowchart TD",
        "    data",
        "    models --> data",
        "    models --> training",
    ]


def test_main_prints_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--mermaid"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("flowchart TD\n")
    assert "    models --> training\n" in out
    assert "evaluation --> models" not in out


def test_main_exits_one_on_a_cycle(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ssl4rec.dev import import_graph

    cyclic: Graph = {"models": {"training"}, "training": {"models"}}
    monkeypatch.setattr(import_graph, "subpackage_graph", lambda package: cyclic)
    assert main([]) == 1
    captured = capsys.readouterr()
    assert "models -> training" in captured.out
    assert "cycle between subpackages: models -> training -> models" in captured.err
