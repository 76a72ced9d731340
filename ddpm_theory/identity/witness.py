"""A counterexample a person can read.

The engine's verdict *false* rests on its certified counterexample, which is the sampled
point where the two sides differ most: often an extreme one (ᾱ_{t−1} = 2e−11, x_t = 5e4).
For a closed-form relation (no expectation, integral, sum or limit) this module looks,
among more sampled points of the same domains, for the most ordinary one where the
relation fails -- the sides differ (or the gap is negative) at 50 digits by more than
1e−30 relative, by the same amount at 120 digits -- so that the answer can say "false at
β_t = 0.3" rather than at a point 10⁻¹¹ from the domain's end.
"""

from __future__ import annotations

import math
from typing import Any

import mpmath
import sympy as sp

from ..domains import Domain
from ..symbolic.engine import Derivation
from ..symbolic.expectation import GaussE, MvGaussE
from ..symbolic.numeric_check import (
    DPS,
    HIGH_DPS,
    _FunctionTable,
    _symbol_domain,
    evaluate,
    free_parameters,
    sample_points,
)
from ..symbolic.procedures import substitute_definitions

__all__ = ["readable_counterexample"]

#: more points than the engine's check, so that ordinary ones are among them
POINTS = 128
BOUND = mpmath.mpf("1e-30")
_NOT_CLOSED = (GaussE, MvGaussE, sp.Integral, sp.Sum, sp.Product, sp.Limit, sp.Derivative)


def _sides(d: Derivation) -> tuple[sp.Expr, sp.Expr, sp.Expr | None]:
    step = d.parts[0].steps[0]
    lhs, rhs = (substitute_definitions(sp.sympify(e), d.definitions)
                for e in (d.parts[0].start, step.expr))
    gap = (None if step.gap is None
           else substitute_definitions(sp.sympify(step.gap), d.definitions))
    return lhs, rhs, gap


def _fails(lhs: Any, rhs: Any, gap: Any, p: dict, seed: int, dps: int) -> Any:
    """The size of the failure at ``p`` (0 when the relation holds there)."""
    table = _FunctionTable(seed)
    with mpmath.workdps(dps):
        if gap is not None:
            g = mpmath.re(evaluate(gap, p, table))
            return -g if g < -BOUND * (1 + abs(g)) else mpmath.mpf(0)
        a, b = evaluate(lhs, p, table), evaluate(rhs, p, table)
        rel = abs(a - b) / (1 + abs(a))
        return rel if mpmath.isfinite(rel) and rel > BOUND else mpmath.mpf(0)


def _oddness(p: dict, domains: Any) -> float:
    """How far from ordinary a point is: decades to the nearest finite end of a domain,
    or of magnitude away from 1."""
    worst = 0.0
    for s, v in p.items():
        if isinstance(v, int):
            continue
        dom: Domain = _symbol_domain(s, domains)
        ends = [abs(v - e) for e in (dom.lo, dom.hi) if math.isfinite(e)]
        width = dom.hi - dom.lo if len(ends) == 2 else 1.0
        near = -math.log10(max(min(ends) / width, 1e-300)) if ends else 0.0
        size = abs(math.log10(max(abs(v), 1e-300)))
        worst = max(worst, near, size if not ends or len(ends) == 1 else 0.0)
    return worst


def readable_counterexample(d: Derivation, seed: int
                            ) -> tuple[dict[str, str], str, str] | None:
    """(point, left value, right value) at the most ordinary failing point, or None."""
    lhs, rhs, gap = _sides(d)
    exprs = [lhs, rhs] + ([gap] if gap is not None else [])
    if any(e.has(*_NOT_CLOSED) for e in exprs):
        return None
    points = sample_points(free_parameters(exprs), POINTS, seed + 1, d.domains)
    order = sorted(range(len(points)), key=lambda k: _oddness(points[k], d.domains))
    for k in order:
        p, s = points[k], seed * 7919 + k
        low = _fails(lhs, rhs, gap, p, s, DPS)
        if not low:
            continue
        high = _fails(lhs, rhs, gap, p, s, HIGH_DPS)
        if high and abs(high - low) <= mpmath.mpf("1e-20") * (1 + abs(high)):
            table = _FunctionTable(s)
            with mpmath.workdps(DPS):
                a, b = evaluate(lhs, p, table), evaluate(rhs, p, table)
            shown = {str(q): str(v) if isinstance(v, int) else mpmath.nstr(mpmath.mpf(v), 6)
                     for q, v in sorted(p.items(), key=lambda kv: str(kv[0]))}
            return shown, mpmath.nstr(a, 15), mpmath.nstr(b, 15)
    return None
