"""Signs decided on the whole declared domain, never at sample points.

The symbolic line of the engine rewrites log(f·g) = log f + log g and √(f²) = f only for
factors whose sign it has *proved* on the declared domain.  :func:`decide_sign` proves a
sign, or says it cannot (0); it never looks at sample points, so a rewrite that holds at
the points the numeric line happened to draw but not on the whole domain cannot pass.

The certificates, each sufficient and each sound:

1. SymPy's assumptions (``f.is_positive`` / ``f.is_negative``), which follow from the
   declared domains (:meth:`ddpm_theory.domains.Domain.sympy_assumptions`);
2. **positive coefficients after a rational parametrisation of the domain**: each
   symbol s of an interval domain is written through a fresh u ≥ 0 (or u > 0 at an open
   end) — s = lo + u on [lo, ∞), s = lo + (hi − lo)·u/(1 + u) on [lo, hi), s = hi −
   (hi − lo)·u/(1 + u) on (lo, hi] — and a real symbol is split into the two cases
   s = u and s = −u.  A polynomial whose coefficients in the u's are all ≥ 0, and which
   is not identically 0 once the u's that may vanish are set to 0, is > 0 on the whole
   domain (every monomial is ≥ 0 there, and the monomials free of the vanishing u's are
   > 0).  Numerator and denominator are decided separately.  E.g. 1 − a b on (0, 1)²
   becomes (u + w + u w)/((1 + u)(1 + w)) with a = u/(1 + u), b = w/(1 + w).
3. an atom (√f, f^{p/q}, exp, an applied function declared positive) is a positive
   generator when its radicand or argument is decided positive by these same rules.

The domain of each symbol comes from ``domain_of`` (the derivation's scoped domains,
falling back to the declared notation).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import sympy as sp

from ..domains import Domain

__all__ = ["decide_sign", "DomainLookup"]

DomainLookup = Callable[[sp.Basic], "Domain | None"]


#: decide_sign's answers by (expression, the lookup's scope, strict): a pure function of
#: the three (see :func:`ddpm_theory.symbolic.procedures.make_lookup`), so the factors
#: that consecutive steps share are decided once per process
_SIGNS: dict[tuple, int] = {}
_SIGNS_MAX = 8192


def decide_sign(f: sp.Expr, domain_of: DomainLookup, strict: bool = True) -> int:
    """+1 if f > 0, −1 if f < 0 on the whole declared domain; 0 when not proved.  With
    ``strict=False``, +1 / −1 mean f ≥ 0 / f ≤ 0 (the numerator may vanish)."""
    f = sp.sympify(f)
    scope = getattr(domain_of, "scope", None)
    if scope is None:  # a lookup of unknown provenance: no caching
        return _decide_sign(f, domain_of, strict)
    key = (f, scope, strict)
    if key not in _SIGNS:
        if len(_SIGNS) >= _SIGNS_MAX:
            _SIGNS.clear()
        _SIGNS[key] = _decide_sign(f, domain_of, strict)
    return _SIGNS[key]


def _decide_sign(f: sp.Expr, domain_of: DomainLookup, strict: bool) -> int:
    if f.is_positive or (not strict and f.is_nonnegative):
        return 1
    if f.is_negative or (not strict and f.is_nonpositive):
        return -1
    if f.is_number:
        return 0
    num, den = sp.fraction(sp.cancel(sp.together(f)))
    sn = _poly_sign(num, domain_of, strict)
    if sn == 0:
        return 0
    sd = _poly_sign(den, domain_of)
    return sn * sd


def _poly_sign(p: sp.Expr, domain_of: DomainLookup, strict: bool = True) -> int:
    if p.is_number:
        if not strict and p.is_zero:
            return 1
        return 1 if p.is_positive else -1 if p.is_negative else 0
    gens, closed, cases = _parametrise(p, domain_of)
    if gens is None:
        return 0
    signs = set()
    for case in cases:
        q = sp.together(p.xreplace(case))
        qn, qd = sp.fraction(sp.cancel(q))
        s = _nonneg_coeff_sign(qn, gens, closed, strict) * _nonneg_coeff_sign(qd, gens, closed)
        if s == 0:
            return 0
        signs.add(s)
    return signs.pop() if len(signs) == 1 else 0


def _parametrise(p: sp.Expr, domain_of: DomainLookup):
    """Map every atom of p to an expression in fresh u ≥ 0; None when an atom has no
    interval domain.  Returns (u's, the u's that may be 0, the list of case maps)."""
    base: dict[sp.Basic, sp.Expr] = {}
    splits: list[tuple[sp.Basic, sp.Symbol]] = []
    gens: list[sp.Symbol] = []
    closed: set[sp.Symbol] = set()
    for a in sorted(_atoms(p), key=sp.default_sort_key):
        dom = _atom_domain(a, domain_of)
        if dom is None:
            return None, None, None
        u = sp.Dummy("u", nonnegative=True)
        gens.append(u)
        lo, hi = dom.lo, dom.hi
        if math.isinf(lo) and math.isinf(hi):
            splits.append((a, u))
            closed.add(u)
            continue
        if math.isinf(hi):
            base[a] = sp.nsimplify(lo) + u
            if not dom.lo_open:
                closed.add(u)
        elif math.isinf(lo):
            base[a] = sp.nsimplify(hi) - u
            if not dom.hi_open:
                closed.add(u)
        else:
            width = sp.nsimplify(hi) - sp.nsimplify(lo)
            if dom.lo_open and not dom.hi_open:
                base[a] = sp.nsimplify(hi) - width * u / (1 + u)
                closed.add(u)
            elif dom.lo_open and dom.hi_open:
                base[a] = sp.nsimplify(lo) + width * u / (1 + u)
            elif not dom.lo_open and dom.hi_open:
                base[a] = sp.nsimplify(lo) + width * u / (1 + u)
                closed.add(u)
            else:  # [lo, hi]: both ends attained; no single rational map onto u ≥ 0
                return None, None, None
    cases = [dict(base)]
    for a, u in splits:  # a real atom: the cases a = u and a = −u (u ≥ 0)
        cases = [{**c, a: s} for c in cases for s in (u, -u)]
    return gens, closed, cases


def _atoms(p: sp.Expr) -> set[sp.Basic]:
    """The generators of p as a polynomial: symbols, and non-polynomial atoms whole."""
    return set(sp.Poly(p).gens) if p.free_symbols else set()


def _atom_domain(a: sp.Basic, domain_of: DomainLookup) -> Domain | None:
    from ..domains import POSITIVE, REAL

    if isinstance(a, sp.Symbol):
        dom = domain_of(a)
        if dom is not None:
            return dom
        if a.is_positive:
            return POSITIVE
        return REAL if a.is_real else None
    if _atom_positive(a, domain_of):
        return POSITIVE
    return REAL if a.is_real else None


def _atom_positive(a: sp.Basic, domain_of: DomainLookup) -> bool:
    if a.is_positive:
        return True
    if isinstance(a, sp.Pow) and a.exp.is_Rational:
        return decide_sign(a.base, domain_of) > 0
    if isinstance(a, sp.exp):
        return bool(a.args[0].is_real)
    if isinstance(a, sp.Product):
        return decide_sign(a.function, domain_of) > 0
    return False


def _nonneg_coeff_sign(q: sp.Expr, gens: list[sp.Symbol], closed: set[sp.Symbol],
                       strict: bool = True) -> int:
    """+1 (−1) when every coefficient of q in ``gens`` is ≥ 0 (≤ 0) and, if ``strict``, q
    does not vanish identically with the possibly-zero generators set to 0; else 0."""
    present = [g for g in gens if g in q.free_symbols]
    if q.free_symbols - set(gens):
        return 0
    if not present:
        if not strict and q.is_zero:
            return 1
        return 1 if q.is_positive else -1 if q.is_negative else 0
    poly = sp.Poly(sp.expand(q), *present)
    coeffs = poly.coeffs()
    if all(c.is_nonnegative for c in coeffs):
        sign = 1
    elif all(c.is_nonpositive for c in coeffs):
        sign = -1
    else:
        return 0
    if not strict:
        return sign
    at_zero = sp.expand(q.xreplace({g: 0 for g in present if g in closed}))
    return sign if at_zero != 0 else 0
