"""The dependency-graph figure: every registered derivation and the lemmas it applies,
drawn with matplotlib while the docs build (no graphviz needed).

    :::{ddpm-figure} dependency-graph
    :::

The edges are the verification results' ``depends_on`` (each derivation is verified once
per build, shared with its page). A derivation that could not be verified fails the
figure: a graph with a silently missing node would understate the dependencies.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from ..symbolic.graph import DependencyGraph, from_results, layers
from ._figures import FigureError, _save, figure
from ._state import BuildState

__all__ = ["registry_graph", "positions", "COLOURS"]

#: face and edge colour of a node by verdict
COLOURS = {"verified": ("#e6f4ea", "#1e6b35"), "refuted": ("#fff4e0", "#8a4b00"),
           "failed": ("#fde7e9", "#a1111f"), "missing": ("#fde7e9", "#a1111f")}
#: nodes per row; a longer layer wraps
PER_ROW = 4


def registry_graph(st: BuildState) -> DependencyGraph:
    """The graph of every registered derivation, from this build's verdicts."""
    from ..symbolic import registry

    verdicts = [st.verdict(n) for n in registry.names()]
    broken = [v.name for v in verdicts if v.result is None]
    if broken:
        raise FigureError(f"cannot draw the dependency graph: {', '.join(broken)} could not "
                          "be verified (see their pages)")
    return from_results(v.result for v in verdicts if v.result is not None)


def _rows(graph: DependencyGraph) -> tuple[list[list[str]], list[str]]:
    """Rows of connected nodes, top (most dependent) first, and the stand-alone ones."""
    depth = layers(graph)
    connected = graph.connected
    rows: list[list[str]] = []
    x_of: dict[str, float] = {}
    for level in range(max((depth[n] for n in connected), default=-1) + 1):
        names = [n for n in connected if depth[n] == level]
        # order by the mean position of the lemmas below (fewer crossings)
        names.sort(key=lambda n: sum(x_of.get(d, 0.5) for d in graph.edges[n])
                   / max(len(graph.edges[n]), 1))
        level_rows = [names[i:i + PER_ROW] for i in range(0, len(names), PER_ROW)]
        for row in level_rows:
            for k, n in enumerate(row):
                x_of[n] = (k + 0.5) / len(row)
        rows = level_rows[::-1] + rows  # lemmas at the bottom
    alone = [n for n in graph.names if n not in set(connected)]
    return rows, alone


def positions(graph: DependencyGraph) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """(x, y) of each connected node in data units (rows 1 apart, x in [0, 1]), and the
    stand-alone nodes in registry order."""
    rows, alone = _rows(graph)
    pos: dict[str, tuple[float, float]] = {}
    for r, row in enumerate(rows):
        for k, n in enumerate(row):
            pos[n] = ((k + 0.5) / len(row), float(len(rows) - r))
    return pos, alone


def _box(ax, x: float, y: float, name: str, status: str):
    face, edge = COLOURS.get(status, COLOURS["failed"])
    return ax.text(x, y, name, ha="center", va="center", fontsize=7.5, zorder=3,
            bbox={"boxstyle": "round,pad=0.3", "fc": face, "ec": edge, "lw": 1.0})


def draw(graph: DependencyGraph, path: Path) -> None:
    """Write the figure of ``graph`` to ``path`` (PNG)."""
    pos, alone = positions(graph)
    n_rows = max((int(y) for _, y in pos.values()), default=0)
    grid = [alone[i:i + PER_ROW] for i in range(0, len(alone), PER_ROW)]
    height = 0.55 * (n_rows + len(grid)) + 1.4
    fig = Figure(figsize=(10.5, height), layout="constrained")
    ax = fig.subplots()
    boxes = {n: _box(ax, x, y, n, graph.status[n]) for n, (x, y) in pos.items()}
    for n, deps in graph.edges.items():
        for dep in deps:  # clipped at the two boxes, so that the head shows
            ax.annotate("", xy=pos[dep], xytext=pos[n], zorder=4,
                        arrowprops={"arrowstyle": "-|>", "color": "#555", "lw": 0.8,
                                    "shrinkA": 1, "shrinkB": 1,
                                    "patchA": boxes[n].get_bbox_patch(),
                                    "patchB": boxes[dep].get_bbox_patch()})
    base = -0.2
    if grid:
        ax.text(0.5, base, "applies no registered lemma:", ha="center", va="center",
                fontsize=8, style="italic")
    for r, row in enumerate(grid):
        for k, n in enumerate(row):
            _box(ax, (k + 0.5) / PER_ROW, base - 0.8 * (r + 1), n, graph.status[n])
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(base - 0.8 * (len(grid) + 0.7), n_rows + 0.6)
    ax.set_axis_off()
    ax.set_title("Registered derivations: an arrow points from a derivation to a lemma it "
                 "applies (green verified, orange refuted as expected, red failed)", fontsize=9)
    _save(fig, path)


@figure("dependency-graph")
def _dependency_graph(path: Path, st: BuildState) -> None:
    draw(registry_graph(st), path)
