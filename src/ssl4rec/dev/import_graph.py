"""The import graph between ssl4rec's subpackages, and a check that it has no cycle.

Run ``python -m ssl4rec.dev.import_graph`` to print one line per subpackage with the
subpackages it imports, or add ``--mermaid`` for a Mermaid flowchart (the one in
docs/architecture.md). The command exits with status 1 when the graph has a cycle.

The module-level graph comes from grimp (the library behind import-linter); each
subpackage is squashed into one node, so an import anywhere inside ``models/`` of
anything inside ``training/`` is the edge ``models -> training``. Imports under
``if TYPE_CHECKING:`` count, as they do for ``lint-imports``. The root module
(``ssl4rec/__init__.py``, which every layer may read ``__version__`` from) is left out.
"""

from __future__ import annotations

import argparse
import graphlib
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import grimp

__all__ = ["find_cycle", "format_mermaid", "format_text", "main", "subpackage_graph"]

Graph = dict[str, set[str]]
"""Node name -> names of the nodes it imports."""


def subpackage_graph(package: str = "ssl4rec", *, graph: grimp.ImportGraph | None = None) -> Graph:
    """Which direct children of ``package`` import which others.

    Args:
        package: The root package to analyse; it must be importable.
        graph: A grimp graph of ``package`` already built (it is modified: its
            subpackages are squashed). ``None`` builds a fresh one without a cache.

    Returns:
        Child name relative to ``package`` (``"models"``, ``"errors"``) -> the
        children it imports. Every child is a key; self-imports are left out.
    """
    if graph is None:
        try:
            import grimp
        except ImportError as err:  # pragma: no cover - grimp comes with the dev extra
            raise ImportError("the import graph needs grimp: pip install 'ssl4rec[dev]'") from err
        graph = grimp.build_graph(package, cache_dir=None)
    children = sorted(graph.find_children(package))
    for child in children:
        if graph.find_children(child):
            graph.squash_module(child)
    prefix = f"{package}."
    edges: Graph = {}
    for child in children:
        imported = graph.find_modules_directly_imported_by(child)
        edges[child.removeprefix(prefix)] = {
            name.removeprefix(prefix) for name in imported if name in children and name != child
        }
    return edges


def find_cycle(edges: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One import cycle of ``edges``, or ``None`` when the graph is acyclic.

    Args:
        edges: Node -> nodes it imports; targets need not be keys.

    Returns:
        The nodes of a cycle with the first one repeated at the end, each importing
        the next (``["a", "b", "a"]``: a imports b, b imports a), or ``None``.
    """
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for node, targets in edges.items():
        sorter.add(node, *targets)  # what a node imports comes before it
    try:
        sorter.prepare()
    except graphlib.CycleError as err:
        # graphlib lists each node of the cycle before the node that imports it
        return list(reversed(err.args[1]))
    return None


def format_text(edges: Mapping[str, Iterable[str]]) -> str:
    """One line per node, ``models -> config, data, ...``, sorted by name."""
    lines = []
    for node in sorted(edges):
        targets = ", ".join(sorted(edges[node])) or "(nothing)"
        lines.append(f"{node} -> {targets}")
    return "\n".join(lines)


def format_mermaid(edges: Mapping[str, Iterable[str]]) -> str:
    """A Mermaid flowchart, importer above imported (``flowchart TD``)."""
    lines = ["flowchart TD"]
    for node in sorted(edges):
        targets = sorted(edges[node])
        if not targets:
            lines.append(f"    {node}")
        lines.extend(f"    {node} --> {target}" for target in targets)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the subpackage graph of ssl4rec; return 1 when it has a cycle, else 0."""
    parser = argparse.ArgumentParser(
        prog="python -m ssl4rec.dev.import_graph",
        description="Print the import graph between ssl4rec's subpackages; fail on a cycle.",
    )
    parser.add_argument("--mermaid", action="store_true", help="print a Mermaid flowchart")
    parser.add_argument("--package", default="ssl4rec", help="root package (default: ssl4rec)")
    args = parser.parse_args(argv)
    edges = subpackage_graph(args.package)
    print(format_mermaid(edges) if args.mermaid else format_text(edges))
    cycle = find_cycle(edges)
    if cycle is not None:
        print(f"error: import cycle between subpackages: {' -> '.join(cycle)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
