"""The dependency graph of the registry: which registered lemmas each derivation applies.

A derivation depends on a lemma when one of its steps applies it -- by
:class:`~ddpm_theory.symbolic.certificates.Apply`, or when a gap is certified through a
registered lemma (``log-inequality``).  The edges come from verification results
(:attr:`~ddpm_theory.symbolic.engine.DerivationResult.depends_on`), so they are the
dependencies the checks actually used, not the ones the prose mentions.
:func:`layers` orders the graph for drawing: a lemma sits below everything that applies
it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["DependencyGraph", "from_results", "layers", "CycleError"]


class CycleError(ValueError):
    """The graph has a cycle (a lemma that depends, through others, on itself)."""


@dataclass(frozen=True)
class DependencyGraph:
    """``edges[name]``: the lemmas ``name`` applies (sorted); ``status[name]``: its verdict."""

    edges: Mapping[str, tuple[str, ...]]
    status: Mapping[str, str]

    @property
    def names(self) -> list[str]:
        return list(self.edges)

    def used_by(self, name: str) -> list[str]:
        """The derivations that apply ``name``."""
        return sorted(n for n, deps in self.edges.items() if name in deps)

    @property
    def lemmas(self) -> list[str]:
        """Derivations that some other derivation applies."""
        return sorted({d for deps in self.edges.values() for d in deps})

    @property
    def connected(self) -> list[str]:
        """Derivations with at least one edge, in registry order."""
        used = set(self.lemmas)
        return [n for n, deps in self.edges.items() if deps or n in used]

    def to_dict(self) -> dict[str, dict[str, object]]:
        return {n: {"depends_on": list(d), "used_by": self.used_by(n),
                    "status": self.status.get(n, "")} for n, d in self.edges.items()}


def from_results(results: Iterable) -> DependencyGraph:
    """The graph of verification results (anything with ``name``, ``depends_on`` and a
    ``status``); a dependency on a name not among them is kept (drawn as missing)."""
    edges: dict[str, tuple[str, ...]] = {}
    status: dict[str, str] = {}
    for r in results:
        edges[r.name] = tuple(sorted(r.depends_on))
        status[r.name] = getattr(r.status, "value", str(r.status))
    for deps in list(edges.values()):
        for dep in deps:
            edges.setdefault(dep, ())
            status.setdefault(dep, "missing")
    return DependencyGraph(edges, status)


def layers(graph: DependencyGraph) -> dict[str, int]:
    """Layer of each name: 0 for a derivation that applies no lemma, else one more than
    its highest lemma; raises :class:`CycleError` naming the cycle."""
    out: dict[str, int] = {}
    visiting: list[str] = []

    def depth(n: str) -> int:
        if n in out:
            return out[n]
        if n in visiting:
            cycle = visiting[visiting.index(n):] + [n]
            raise CycleError("dependency cycle: " + " -> ".join(cycle))
        visiting.append(n)
        out[n] = 1 + max((depth(d) for d in graph.edges.get(n, ())), default=-1)
        visiting.pop()
        return out[n]

    for n in graph.edges:
        depth(n)
    return out
