"""The 50-digit numeric check of a step (tier S0-num of docs/verification.md).

Both sides of a step are evaluated with mpmath at random points drawn inside the
declared domains of their free symbols.  This check shares nothing with the symbolic
procedures: expectations are integrated by Gauss–Hermite quadrature (not the moment
rule), sums are summed term by term at a sampled integer limit (not by induction), and
undefined functions (abstract densities) and the members of indexed families take fresh
random values at every point -- of both signs, unless declared positive -- so an
identity must hold for *every* such function.

Points cycle through four strata of each declared domain (typical values, DDPM's working
range, 10^−8 from each end and magnitudes up to 10^8, and the boundary; see
:func:`ddpm_theory.domains.engine_sample`).  A point where the two sides differ by more
than the tolerance is evaluated again at :data:`HIGH_DPS` digits with twice the
quadrature nodes: it agrees if the difference vanishes there (lost digits, not a
disagreement); it is a *certified* counterexample only if the difference at the higher
level exceeds :data:`SAFETY` times the change of the sides between the two levels (the
error estimate of rounding and quadrature: Gauss–Hermite on a kink converges so slowly
that a true identity's residual stays below it) *and* the change shrinks again at four
times the nodes (the estimate is trusted only where the rules converge: an integrand
whose mass lies beyond every node, such as exp(x) under a wide Gaussian, is never
"refuted" by its quadrature error).  A refutation needs a certified counterexample.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from ..domains import STRATA, Domain, engine_sample
from .expectation import GaussE, MvGaussE, gauss_hermite_rule
from .notation import domain_of
from .sums import write_out_all

__all__ = ["DPS", "HIGH_DPS", "sample_points", "evaluate", "NumericComparison", "compare"]

#: working precision (decimal digits); the acceptance threshold is 1e-40 relative
DPS = 50
TOLERANCE = mpmath.mpf("1e-40")
#: Gauss–Hermite nodes per dimension for a non-polynomial integrand (polynomial
#: integrands get the exact rule, deg // 2 + 1 nodes)
GH_NODES = 24
#: extra integer range explored above an induction base when sampling limits
INTEGER_SPAN = 5
#: the second, higher precision of a point where the sides disagree at DPS digits
HIGH_DPS = 120
#: a disagreement is certified when it exceeds SAFETY times the change of either side
#: between the two levels (the estimate of its rounding and quadrature error)
SAFETY = 10


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
    """``n`` points, each symbol drawn from its declared domain (explicit generator).

    Each real symbol cycles through the strata of :data:`ddpm_theory.domains.STRATA`
    from a random offset of its own, so every stratum of every symbol is visited
    ``n // 4`` times and the strata of different symbols are combined in varying ways.
    An integer symbol ranges over its base (the induction base, else its domain's
    lower end) and the next :data:`INTEGER_SPAN` − 1 integers.
    """
    rng = np.random.default_rng(seed)
    ordered = sorted(symbols, key=str)
    offsets = {s: int(rng.integers(len(STRATA))) for s in ordered}
    points = []
    for i in range(n):
        p: dict[sp.Basic, Any] = {}
        for s in ordered:
            dom = _symbol_domain(s, overrides)
            if dom.integer:
                lo = integer_bases.get(s, max(int(dom.lo), 1))
                p[s] = int(rng.integers(lo, lo + INTEGER_SPAN))
            else:
                p[s] = engine_sample(dom, rng, STRATA[(i + offsets[s]) % len(STRATA)])
        points.append(p)
    return points


def distinct_points(points: list[dict[sp.Basic, Any]]) -> int:
    """How many different points (as tuples of values) a list holds."""
    return len({tuple(sorted((str(k), repr(v)) for k, v in p.items())) for p in points})


class _FunctionTable:
    """Random values for undefined functions and indexed-family members, memoised per
    argument; one table per point, so every point draws fresh values.

    A function declared positive (``sp.Function("q", positive=True)``) takes values
    log-uniform in (0.05, 20); any other takes such a magnitude with a random sign.  A
    family member ``x[i]`` takes a value of its family's declared domain.
    """

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.values: dict[tuple, mpmath.mpf] = {}

    def __call__(self, name: str, args: tuple, domain: Domain | None = None,
                 positive: bool = False) -> mpmath.mpf:
        key = (name, tuple(mpmath.nstr(mpmath.mpmathify(a), 30) for a in args))
        if key not in self.values:
            if domain is None:
                magnitude = mpmath.exp(self.rng.uniform(mpmath.log(0.05), mpmath.log(20)))
                sign = 1 if positive or self.rng.random() < 0.5 else -1
                self.values[key] = sign * magnitude
            else:
                rng = np.random.default_rng(self.rng.getrandbits(32))
                stratum = STRATA[int(rng.integers(len(STRATA)))]
                self.values[key] = mpmath.mpf(engine_sample(domain, rng, stratum))
        return self.values[key]


def evaluate(expr: sp.Basic, env: Mapping[sp.Basic, Any], table: _FunctionTable,
             nodes: int = 1) -> Any:
    """Evaluate ``expr`` at ``env`` with mpmath (current precision); ``nodes`` multiplies
    the Gauss–Hermite nodes of non-polynomial integrands."""
    ints = {s: sp.Integer(v) for s, v in env.items() if isinstance(v, int)}
    key = (expr, tuple(sorted(ints.items(), key=lambda kv: str(kv[0]))))
    expanded = _EXPANDED.get(key)
    if expanded is None:
        expanded = expr.xreplace(ints) if ints else expr
        expanded = write_out_all(expanded)
        _EXPANDED[key] = expanded
    expr = expanded
    reals = {s: mpmath.mpf(v) for s, v in env.items() if not isinstance(v, int)}
    return _compile(expr, nodes)(reals, table)


_COMPILED: dict[tuple[sp.Basic, int], Any] = {}
#: (expression, integer values) -> the expression with its explicit sums written out
_EXPANDED: dict[tuple, sp.Basic] = {}


def _compile(expr: sp.Basic, nodes: int = 1) -> Any:
    """A closure ``f(env, table)`` evaluating ``expr``; compiled once per expression.

    Expectations become Gauss–Hermite sums over compiled integrands, undefined
    functions and Indexed atoms with numeric indices become table look-ups, and the
    rest is lambdified for mpmath.
    """
    cached = _COMPILED.get((expr, nodes))
    if cached is not None:
        return cached
    fresh = _fresh_symbols(expr)
    allE = expr.atoms(GaussE, MvGaussE, sp.Integral, sp.Limit)
    outer = [a for a in allE if not any(a != b and b.has(a) for b in allE)]
    subs: dict[sp.Basic, sp.Dummy] = {}
    makers: list[tuple[sp.Dummy, Any]] = []
    for a in outer:
        d = next(fresh)
        subs[a] = d
        if isinstance(a, sp.Integral):
            makers.append((d, _compile_integral(a, nodes)))
        elif isinstance(a, sp.Limit):
            makers.append((d, _compile_limit(a, nodes)))
        else:
            makers.append((d, _compile_expectation(a, nodes)))
    shielded = expr.xreplace(subs)
    for a in sorted(shielded.atoms(AppliedUndef), key=sp.count_ops, reverse=True):
        d = next(fresh)
        arg_fns = [_compile(x, nodes) for x in a.args]
        name = a.func.__name__
        makers.append((d, lambda env, table, fs=arg_fns, nm=name, pos=bool(a.is_positive):
                       table(nm, tuple(f(env, table) for f in fs), positive=pos)))
        subs[a] = d
        shielded = shielded.xreplace({a: d})
    for a in sorted(shielded.atoms(sp.Indexed), key=str):
        if all(i.is_number for i in a.indices):
            d = next(fresh)
            dom = _symbol_domain(a, {})
            makers.append((d, lambda env, table, nm=str(a.base), idx=tuple(a.indices), dom=dom:
                           table(nm, idx, dom)))
            shielded = shielded.xreplace({a: d})
    made: set[sp.Basic] = {d for d, _ in makers}
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

    _COMPILED[(expr, nodes)] = run
    return run


def _fresh_symbols(expr: sp.Basic) -> Iterator[sp.Symbol]:
    """Placeholders for the parts of ``expr`` evaluated outside lambdify: plain symbols
    named apart from every symbol of ``expr``.  (Dummies would make lambdify re-dummify
    every argument, an xreplace of the whole expression per argument.)"""
    taken = {str(s) for s in expr.free_symbols}
    k = 0
    while True:
        name = f"_ddpm_arg{k}"
        k += 1
        if name not in taken:
            yield sp.Symbol(name)


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


def _nodes_for(f: sp.Expr, xs: Any, mult: int = 1) -> int:
    """Gauss–Hermite nodes: exact (deg // 2 + 1) for a polynomial integrand, else
    ``mult`` · GH_NODES (an approximation, refined at the second level)."""
    deg = _degree(f, list(xs))
    return GH_NODES * mult if deg is None else max(deg // 2 + 1, 1)


#: guard digits for adaptive quadrature and Richardson extrapolation
GUARD_DPS = 10


def _compile_integral(a: sp.Integral, nodes: int = 1) -> Any:
    """∫_lo^hi f dx by tanh-sinh quadrature (mpmath.quad) with guard digits."""
    if len(a.limits) != 1 or len(a.limits[0]) != 3:
        raise NotImplementedError("numeric check: one definite integral at a time")
    x, lo, hi = a.limits[0]
    fc, lc, hc = _compile(a.function, nodes), _compile(lo, nodes), _compile(hi, nodes)

    def integral(env, table):
        with mpmath.workdps(mpmath.mp.dps + GUARD_DPS):
            return mpmath.quad(lambda xv: fc({**env, x: xv}, table),
                               [lc(env, table), hc(env, table)])

    return integral


def _compile_limit(a: sp.Limit, nodes: int = 1) -> Any:
    """lim_{h→h0} f for f analytic in h at h0 (from the stated side): f at h0 ± h·10^−k,
    k = 0, 1, 2, with h = 10^−(d+10) (d = the check's precision) and 4d + 20 working
    digits, then Richardson extrapolation in h to order 2, accepted when the order-1 and
    order-2 extrapolations agree to 10^−(d+5); otherwise mpmath's limit."""
    f, h, h0, direction = a.args
    fc, h0c = _compile(f, nodes), _compile(h0, nodes)
    sign = -1 if str(direction) == "-" else 1

    def limit(env, table):
        dps = mpmath.mp.dps
        with mpmath.workdps(4 * dps + 20):
            at = h0c(env, table)
            step = mpmath.mpf(10) ** -(dps + 10)
            vals = [fc({**env, h: at + sign * step * mpmath.mpf(10) ** -k}, table)
                    for k in range(3)]
            r1 = [(10 * vals[k + 1] - vals[k]) / 9 for k in range(2)]
            r2 = (100 * r1[1] - r1[0]) / 99
            if abs(r2 - r1[1]) <= mpmath.mpf(10) ** -(dps + 5) * (1 + abs(r2)):
                return r2
            return mpmath.limit(lambda hv: fc({**env, h: at + sign * (hv - at)}, table), at)

    return limit


def _compile_expectation(a: sp.Basic, nodes: int = 1) -> Any:
    if isinstance(a, GaussE):
        f, x, mean, var = a.args
        zs, weights = gauss_hermite_rule(_nodes_for(f, [x], nodes), HIGH_DPS + 10)
        fc, mc, vc = _compile(f, nodes), _compile(mean, nodes), _compile(var, nodes)

        def gauss(env, table):
            m = mc(env, table)
            sd = mpmath.sqrt(vc(env, table))
            return mpmath.fsum(
                w * fc({**env, x: m + sd * z}, table) for z, w in zip(zs, weights)
            )

        return gauss
    f, xs, mean, cov = a.args
    n_nodes = _nodes_for(f, list(xs), nodes)
    zs, weights = gauss_hermite_rule(n_nodes, HIGH_DPS + 10)
    fc = _compile(f, nodes)
    mcs = [_compile(m, nodes) for m in mean]
    k = len(xs)
    ccs = [[_compile(cov[i, j], nodes) for j in range(k)] for i in range(k)]

    def mv_gauss(env, table):
        mu = [m(env, table) for m in mcs]
        S = mpmath.matrix(k, k)
        for i in range(k):
            for j in range(k):
                S[i, j] = ccs[i][j](env, table)
        L = mpmath.cholesky(S)
        total = mpmath.mpf(0)
        for idx in np.ndindex(*(n_nodes,) * k):
            z = [zs[i] for i in idx]
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
    #: a point where the disagreement is the same at both precision levels (a refutation
    #: needs one)
    certified: bool = False
    n_points: int = 0                  # points evaluated
    n_distinct: int = 0                # distinct points among them
    domains: dict[str, str] = field(default_factory=dict)  # symbol -> interval sampled


def compare(
    lhs: Any,
    rhs: Any,
    points: list[dict[sp.Basic, Any]],
    seed: int,
    gap: Any = None,
    overrides: Mapping[sp.Basic, Domain] = {},
) -> NumericComparison:
    """|lhs − rhs| ≤ 1e-40 (1 + |lhs|) at every point (and gap ≥ 0 when given).

    Each point has a function table of its own (fresh values for abstract functions and
    family members).  A point that fails at :data:`DPS` digits is evaluated again at
    :data:`HIGH_DPS` digits with twice the quadrature nodes (see the module docstring).
    """
    pairs = list(zip(_flatten(lhs), _flatten(rhs)))
    gap_expr = None if gap is None else sp.sympify(gap)
    worst = _PointResult(mpmath.mpf(0), None, "", "", False)
    certified = neg = False
    for k, p in enumerate(points):
        res = _check_point(pairs, p, seed * 7919 + k)
        if res.rel > worst.rel or worst.point is None:
            worst = res
        certified = certified or res.certified
        if gap_expr is not None and _gap_negative(gap_expr, p, seed * 7919 + k):
            neg = True
    shown = {str(k): (str(v) if isinstance(v, int) else mpmath.nstr(mpmath.mpf(v), 12))
             for k, v in (worst.point or {}).items()}
    doms = sorted({s for p in points for s in p}, key=str)
    return NumericComparison(
        worst.rel <= TOLERANCE and not neg, float(worst.rel), shown, worst.lhs, worst.rhs,
        neg, certified, len(points), distinct_points(points),
        {str(s): _symbol_domain(s, overrides).interval_text() for s in doms},
    )


@dataclass
class _PointResult:
    rel: Any
    point: dict[sp.Basic, Any] | None
    lhs: str
    rhs: str
    certified: bool


def _rel(va: Any, vb: Any) -> Any:
    rel = abs(va - vb) / (1 + abs(va))
    return rel if mpmath.isfinite(rel) else mpmath.inf  # NaN or inf never passes


def _at_level(pairs: list, p: dict, seed: int, dps: int, nodes: int) -> list[tuple]:
    table = _FunctionTable(seed)  # the same seed: the same function values at both levels
    with mpmath.workdps(dps):
        return [(va, vb, _rel(va, vb)) for a, b in pairs
                for va, vb in [(evaluate(a, p, table, nodes), evaluate(b, p, table, nodes))]]


def _check_point(pairs: list, p: dict, seed: int) -> _PointResult:
    low = _at_level(pairs, p, seed, DPS, 1)
    worst_low = max(low, key=lambda r: r[2])
    if worst_low[2] <= TOLERANCE:
        return _PointResult(worst_low[2], p, *_shown(worst_low), False)
    high = _at_level(pairs, p, seed, HIGH_DPS, 2)
    worst_high = max(high, key=lambda r: r[2])
    if worst_high[2] <= TOLERANCE:  # only digits were lost at DPS
        return _PointResult(worst_high[2], p, *_shown(worst_high), False)
    candidates = [
        i for i, ((la, lb, _), (ha, hb, rh)) in enumerate(zip(low, high))
        if rh > TOLERANCE and mpmath.isfinite(rh)
        and abs(ha - hb) > SAFETY * (abs(la - ha) + abs(lb - hb))
    ]
    certified = False
    if candidates:  # the error estimate is trusted only where the rules converge
        higher = _at_level(pairs, p, seed, HIGH_DPS, 4)
        with mpmath.workdps(HIGH_DPS):
            for i in candidates:
                (la, lb, _), (ha, hb, _), (Ha, Hb, _) = low[i], high[i], higher[i]
                eps = mpmath.mpf(10) ** -DPS  # rounding at the lower level, side by side
                if (abs(ha - Ha) <= abs(la - ha) + eps * (1 + abs(ha))
                        and abs(hb - Hb) <= abs(lb - hb) + eps * (1 + abs(hb))):
                    certified = True
    return _PointResult(worst_high[2], p, *_shown(worst_high), certified)


def _shown(r: tuple) -> tuple[str, str]:
    return mpmath.nstr(r[0], 20), mpmath.nstr(r[1], 20)


def _gap_negative(gap: sp.Basic, p: dict, seed: int) -> bool:
    table = _FunctionTable(seed)
    with mpmath.workdps(DPS):
        g = evaluate(gap, p, table)
        return bool(mpmath.re(g) < -TOLERANCE * (1 + abs(g)))


def _flatten(e: Any) -> list[sp.Basic]:
    if isinstance(e, sp.MatrixBase):
        return list(e)
    if isinstance(e, (sp.Tuple, tuple, list)):
        return [x for item in e for x in _flatten(item)]
    return [sp.sympify(e)]
