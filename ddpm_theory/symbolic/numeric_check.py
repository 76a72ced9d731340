"""The 50-digit numeric check of a step (tier S0-num of docs/verification.md).

Both sides of a step are evaluated with mpmath at random points drawn inside the
declared domains of their free symbols.  This check shares nothing with the symbolic
procedures: expectations are integrated by Gauss–Hermite quadrature (not the moment
rule), sums are summed term by term at a sampled integer limit (not by induction),
and undefined functions (abstract densities) take random positive values, so an
identity must hold for *every* such function.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from ..domains import Domain
from .expectation import GaussE, MvGaussE, gauss_hermite_rule
from .notation import domain_of

__all__ = ["DPS", "sample_points", "evaluate", "NumericComparison", "compare"]

#: working precision (decimal digits); the acceptance threshold is 1e-40 relative
DPS = 50
TOLERANCE = mpmath.mpf("1e-40")
#: Gauss–Hermite nodes per dimension for a non-polynomial integrand (polynomial
#: integrands get the exact rule, deg // 2 + 1 nodes)
GH_NODES = 24
#: extra integer range explored above an induction base when sampling limits
INTEGER_SPAN = 5


def _symbol_domain(s: sp.Basic, overrides: Mapping[sp.Basic, Domain]) -> Domain:
    if s in overrides:
        return overrides[s]
    if isinstance(s, sp.Indexed):
        return _symbol_domain(s.base.label, overrides)
    return domain_of(s)


def free_parameters(expr: Any) -> set[sp.Basic]:
    """Free symbols of a step (bound variables and IndexedBase labels excluded)."""
    if isinstance(expr, (list, tuple)):
        return set().union(*(free_parameters(e) for e in expr)) if expr else set()
    expr = sp.sympify(expr)
    labels = {a.base.label for a in expr.atoms(sp.Indexed)}
    return {s for s in expr.free_symbols if s not in labels}


def sample_points(
    symbols: set[sp.Basic],
    n: int,
    seed: int,
    overrides: Mapping[sp.Basic, Domain] = {},
    integer_bases: Mapping[sp.Symbol, int] = {},
) -> list[dict[sp.Basic, Any]]:
    """``n`` points, each symbol drawn from its declared domain (explicit generator)."""
    rng = np.random.default_rng(seed)
    ordered = sorted(symbols, key=str)
    points = []
    for _ in range(n):
        p: dict[sp.Basic, Any] = {}
        for s in ordered:
            dom = _symbol_domain(s, overrides)
            if dom.integer:
                lo = integer_bases.get(s, max(int(dom.lo), 1))
                p[s] = int(rng.integers(lo, lo + INTEGER_SPAN))
            else:
                p[s] = dom.sample(rng)
        points.append(p)
    return points


class _FunctionTable:
    """Random positive values for undefined functions, memoised per argument."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.values: dict[tuple, mpmath.mpf] = {}

    def __call__(self, name: str, args: tuple, domain: Domain | None = None) -> mpmath.mpf:
        key = (name, tuple(mpmath.nstr(mpmath.mpmathify(a), 30) for a in args))
        if key not in self.values:
            if domain is None:
                self.values[key] = mpmath.mpf(self.rng.uniform(0.2, 3.0))
            else:
                rng = np.random.default_rng(self.rng.getrandbits(32))
                self.values[key] = mpmath.mpf(domain.sample(rng))
        return self.values[key]


def evaluate(expr: sp.Basic, env: Mapping[sp.Basic, Any], table: _FunctionTable) -> Any:
    """Evaluate ``expr`` at ``env`` with mpmath (current precision)."""
    ints = {s: sp.Integer(v) for s, v in env.items() if isinstance(v, int)}
    key = (expr, tuple(sorted(ints.items(), key=lambda kv: str(kv[0]))))
    expanded = _EXPANDED.get(key)
    if expanded is None:
        expanded = expr.xreplace(ints) if ints else expr
        expanded = expanded.replace(
            lambda a: isinstance(a, (sp.Sum, sp.Product)) and a.limits[0][2].is_number,
            lambda a: a.doit(deep=False),
        )
        _EXPANDED[key] = expanded
    expr = expanded
    reals = {s: mpmath.mpf(v) for s, v in env.items() if not isinstance(v, int)}
    return _compile(expr)(reals, table)


_COMPILED: dict[sp.Basic, Any] = {}
#: (expression, integer values) -> the expression with its explicit sums written out
_EXPANDED: dict[tuple, sp.Basic] = {}


def _compile(expr: sp.Basic) -> Any:
    """A closure ``f(env, table)`` evaluating ``expr``; compiled once per expression.

    Expectations become Gauss–Hermite sums over compiled integrands, undefined
    functions and Indexed atoms with numeric indices become table look-ups, and the
    rest is lambdified for mpmath.
    """
    cached = _COMPILED.get(expr)
    if cached is not None:
        return cached
    allE = expr.atoms(GaussE, MvGaussE, sp.Integral, sp.Limit)
    outer = [a for a in allE if not any(a != b and b.has(a) for b in allE)]
    subs: dict[sp.Basic, sp.Dummy] = {}
    makers: list[tuple[sp.Dummy, Any]] = []
    for a in outer:
        d = sp.Dummy()
        subs[a] = d
        if isinstance(a, sp.Integral):
            makers.append((d, _compile_integral(a)))
        elif isinstance(a, sp.Limit):
            makers.append((d, _compile_limit(a)))
        else:
            makers.append((d, _compile_expectation(a)))
    shielded = expr.xreplace(subs)
    for a in sorted(shielded.atoms(AppliedUndef), key=sp.count_ops, reverse=True):
        d = sp.Dummy()
        arg_fns = [_compile(x) for x in a.args]
        name = a.func.__name__
        makers.append((d, lambda env, table, fs=arg_fns, nm=name:
                       table(nm, tuple(f(env, table) for f in fs))))
        subs[a] = d
        shielded = shielded.xreplace({a: d})
    for a in sorted(shielded.atoms(sp.Indexed), key=str):
        if all(i.is_number for i in a.indices):
            d = sp.Dummy()
            dom = _symbol_domain(a, {})
            makers.append((d, lambda env, table, nm=str(a.base), idx=tuple(a.indices), dom=dom:
                           table(nm, idx, dom)))
            shielded = shielded.xreplace({a: d})
    made = {d for d, _ in makers}
    free = sorted((s for s in shielded.free_symbols if s not in made), key=str)
    args = free + [d for d, _ in makers]
    fn = sp.lambdify(args, shielded, modules="mpmath", docstring_limit=0)

    def run(env: Mapping[sp.Basic, Any], table: _FunctionTable) -> Any:
        try:
            vals = [env[s] for s in free]
        except KeyError as exc:
            raise KeyError(f"no value for {exc.args[0]} in the numeric check") from None
        vals += [mk(env, table) for _, mk in makers]
        return fn(*vals)

    _COMPILED[expr] = run
    return run


def _degree(e: sp.Basic, xs: Any) -> int | None:
    """An upper bound on the total degree of ``e`` as a polynomial in ``xs``, or None
    when it is not a polynomial in them; read off the tree, without expanding."""
    if not e.has(*xs):
        return 0
    if e in xs:
        return 1
    if e.is_Add or e.is_Mul:
        parts = [_degree(a, xs) for a in e.args]
        degrees = [p for p in parts if p is not None]
        if len(degrees) != len(parts):
            return None
        return max(degrees) if e.is_Add else sum(degrees)
    if e.is_Pow:
        b = _degree(e.base, xs)
        n = e.exp
        if b is None or not (n.is_Integer and n >= 0):
            return None
        return b * int(n)
    if isinstance(e, GaussE):  # E_y[g] with y ~ N(m, v): y^k contributes k·deg(m)
        g, y, m, v = e.args
        if v.has(*xs):
            return None
        dg, dm = _degree(g, [*xs, y]), _degree(m, xs)
        return None if dg is None or dm is None else dg * max(dm, 1)
    return None


def _nodes_for(f: sp.Expr, xs: Any) -> int:
    """Gauss–Hermite nodes: exact (deg // 2 + 1) for a polynomial integrand, else GH_NODES."""
    deg = _degree(f, list(xs))
    return GH_NODES if deg is None else max(deg // 2 + 1, 1)


#: guard digits for adaptive quadrature and Richardson extrapolation
GUARD_DPS = 10


def _compile_integral(a: sp.Integral) -> Any:
    """∫_lo^hi f dx by tanh-sinh quadrature (mpmath.quad) with guard digits."""
    if len(a.limits) != 1 or len(a.limits[0]) != 3:
        raise NotImplementedError("numeric check: one definite integral at a time")
    x, lo, hi = a.limits[0]
    fc, lc, hc = _compile(a.function), _compile(lo), _compile(hi)

    def integral(env, table):
        with mpmath.workdps(mpmath.mp.dps + GUARD_DPS):
            return mpmath.quad(lambda xv: fc({**env, x: xv}, table),
                               [lc(env, table), hc(env, table)])

    return integral


def _compile_limit(a: sp.Limit) -> Any:
    """lim_{h→h0} f: evaluate at h0 ± 10^−(d+10) and h0 ± 10^−(d+20) with 5d working
    digits (d = the check's precision), enough for difference quotients that cancel up to
    h²; for f analytic at h0 both are within O(10^−(d+10)) of the limit.  If the two
    disagree beyond that, fall back to Richardson extrapolation (mpmath.limit)."""
    f, h, h0, direction = a.args
    fc, h0c = _compile(f), _compile(h0)
    sign = -1 if str(direction) == "-" else 1

    def limit(env, table):
        dps = mpmath.mp.dps
        with mpmath.workdps(5 * dps):
            at = h0c(env, table)
            near = [fc({**env, h: at + sign * mpmath.mpf(10) ** -(dps + k)}, table)
                    for k in (10, 20)]
            if abs(near[0] - near[1]) <= mpmath.mpf(10) ** -(dps + 5) * (1 + abs(near[1])):
                return near[1]
            return mpmath.limit(lambda hv: fc({**env, h: at + sign * (hv - at)}, table), at)

    return limit


def _compile_expectation(a: sp.Basic) -> Any:
    if isinstance(a, GaussE):
        f, x, mean, var = a.args
        nodes, weights = gauss_hermite_rule(_nodes_for(f, [x]), DPS + 10)
        fc, mc, vc = _compile(f), _compile(mean), _compile(var)

        def gauss(env, table):
            m = mc(env, table)
            sd = mpmath.sqrt(vc(env, table))
            return mpmath.fsum(
                w * fc({**env, x: m + sd * z}, table) for z, w in zip(nodes, weights)
            )

        return gauss
    f, xs, mean, cov = a.args
    n_nodes = _nodes_for(f, list(xs))
    nodes, weights = gauss_hermite_rule(n_nodes, DPS + 10)
    fc = _compile(f)
    mcs = [_compile(m) for m in mean]
    k = len(xs)
    ccs = [[_compile(cov[i, j]) for j in range(k)] for i in range(k)]

    def mv_gauss(env, table):
        mu = [m(env, table) for m in mcs]
        S = mpmath.matrix(k, k)
        for i in range(k):
            for j in range(k):
                S[i, j] = ccs[i][j](env, table)
        L = mpmath.cholesky(S)
        total = mpmath.mpf(0)
        for idx in np.ndindex(*(n_nodes,) * k):
            z = [nodes[i] for i in idx]
            w = mpmath.fprod(weights[i] for i in idx)
            x = {xs[i]: mu[i] + mpmath.fsum(L[i, j] * z[j] for j in range(i + 1))
                 for i in range(k)}
            total += w * fc({**env, **x}, table)
        return total

    return mv_gauss


@dataclass
class NumericComparison:
    """Outcome of comparing two expressions at random points."""

    agree: bool
    max_rel: float                     # max |lhs - rhs| / (1 + |lhs|) over the points
    worst_point: dict[str, str] | None  # the point where they disagree most
    worst_lhs: str = ""
    worst_rhs: str = ""
    gap_negative: bool = False          # for inequalities: the gap went negative


def compare(
    lhs: Any,
    rhs: Any,
    points: list[dict[sp.Basic, Any]],
    seed: int,
    gap: Any = None,
) -> NumericComparison:
    """|lhs − rhs| ≤ 1e-40 (1 + |lhs|) at every point (and gap ≥ 0 when given)."""
    table = _FunctionTable(seed)
    pairs = list(zip(_flatten(lhs), _flatten(rhs)))
    worst, worst_p, wl, wr, neg = mpmath.mpf(0), None, "", "", False
    with mpmath.workdps(DPS):
        for p in points:
            for a, b in pairs:
                va, vb = evaluate(a, p, table), evaluate(b, p, table)
                rel = abs(va - vb) / (1 + abs(va))
                if not mpmath.isfinite(rel):  # NaN or inf is a disagreement, never a pass
                    rel = mpmath.inf
                if rel > worst or worst_p is None:
                    worst, worst_p = rel, p
                    wl, wr = mpmath.nstr(va, 20), mpmath.nstr(vb, 20)
            if gap is not None:
                g = evaluate(sp.sympify(gap), p, table)
                if mpmath.re(g) < -TOLERANCE * (1 + abs(g)):
                    neg = True
    shown = {str(k): (str(v) if isinstance(v, int) else mpmath.nstr(v, 12))
             for k, v in (worst_p or {}).items()}
    return NumericComparison(worst <= TOLERANCE and not neg, float(worst), shown, wl, wr, neg)


def _flatten(e: Any) -> list[sp.Basic]:
    if isinstance(e, sp.MatrixBase):
        return list(e)
    if isinstance(e, (sp.Tuple, tuple, list)):
        return [x for item in e for x in _flatten(item)]
    return [sp.sympify(e)]
