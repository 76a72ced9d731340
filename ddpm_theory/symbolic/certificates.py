"""Certificates that the gap of an inequality step is ≥ 0 on the whole declared domain.

An inequality step states ``previous ≥ this`` (or ≤) together with its gap, the
difference.  The symbolic line checks that the gap *is* the difference (exactly, by the
decision procedures) and that the gap is ≥ 0 by one of these certificates -- sampling
stays the second, independent line:

* **structural** (the default, :func:`certify_nonnegative`): the gap is built from parts
  each non-negative on the domain -- a number ≥ 0, a symbol declared non-negative, an
  even power of a real expression, a factor whose sign :func:`decide_sign` proves, a
  sum or product of such parts, a Gaussian expectation or a sum over k of a non-negative
  integrand, an integral ∫_a^b f du with b ≥ a proved and f(a + (b − a)τ) ≥ 0 for
  τ ∈ (0, 1), and an instance :class:`LogGap` (u) = u − 1 − log u with u > 0 proved,
  which applies the registered lemma ``log-inequality``;
* :class:`TangentLine` (``f``, ``at``): the tangent line of a concave f lies above it,
  f(a) + f'(a)(x − a) − f(x) ≥ 0, with f'' ≤ 0 proved on the domain of x -- the rule
  that proves the lemma ``log-inequality`` itself (f = log, a = 1).

A gap with no certificate is "could not decide", which fails the step.

An *equality* step may carry :class:`Apply` (``lemma``, ``part``, ``mapping``): it applies
a registered derivation's result (:mod:`ddpm_theory.symbolic.application`).  The instance
S = E is computed, never typed; the step must contain it (S in the previous expression),
and the symbolic line decides that the previous expression with S rewritten to E is this
step; each mapped value must lie in the lemma symbol's declared domain, and the lemma must
be verified and may not depend on the derivation that applies it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from ..domains import UNIT_OPEN, Domain
from .application import Apply, lemma_instance
from .expectation import GaussE, MvGaussE
from .signs import DomainLookup, decide_sign

__all__ = [
    "LogGap",
    "TangentLine",
    "Certificate",
    "certify_nonnegative",
    "certify_tangent",
    "expand_lemmas",
    "LOG_INEQUALITY",
    "Apply",
    "lemma_instance",
]

#: the registered derivation that proves u − 1 − log u ≥ 0 for u > 0
LOG_INEQUALITY = "log-inequality"


class LogGap(sp.Function):
    """g(u) = u − 1 − log u, ≥ 0 for u > 0 (lemma ``log-inequality``); stays
    unevaluated so that a gap can name the lemma it applies."""

    nargs = 1

    def _latex(self, printer: Any, exp: Any = None, **kwargs: Any) -> str:
        u = printer._print(self.args[0])
        tex = rf"\left({u} - 1 - \log {u}\right)" if self.args[0].is_Atom else (
            rf"\left(\left({u}\right) - 1 - \log\left({u}\right)\right)")
        return rf"{tex}^{{{exp}}}" if exp is not None else tex


def expand_lemmas(expr: Any) -> Any:
    """Write every :class:`LogGap` out as u − 1 − log u."""
    if not isinstance(expr, sp.Basic) or not expr.has(LogGap):
        return expr
    return expr.replace(LogGap, lambda u: u - 1 - sp.log(u))


@dataclass(frozen=True)
class TangentLine:
    """Certificate: f(at) + f'(at)(x − at) − f(x) ≥ 0 for a concave f (``concave=True``),
    or its negative for a convex f; f is a one-argument ``sp.Lambda``, x the point."""

    f: sp.Lambda
    at: sp.Expr
    x: sp.Expr
    concave: bool = True


@dataclass
class Certificate:
    ok: bool
    how: list[str] = field(default_factory=list)
    lemmas: set[str] = field(default_factory=set)
    reason: str = ""


def certify_tangent(cert: TangentLine, gap: sp.Expr, lookup: DomainLookup) -> Certificate:
    """The tangent-line bound, computed (not typed): the stated gap must equal it, and
    the second derivative must have the right sign on the domain of the variable."""
    (s,) = cert.f.variables
    f = cert.f.expr
    f1, f2 = sp.diff(f, s), sp.diff(f, s, 2)
    sign = 1 if cert.concave else -1
    bound = sign * (f.xreplace({s: cert.at}) + f1.xreplace({s: cert.at}) * (cert.x - cert.at)
                    - f.xreplace({s: cert.x}))
    out = Certificate(True, ["tangent"])
    if sp.cancel(sp.together(sp.expand(bound - gap))) != 0:
        return Certificate(False, reason=f"the gap is not the tangent-line bound {bound}")
    if not isinstance(cert.x, sp.Symbol):
        return Certificate(False, reason="the tangent-line rule needs a symbol as its point")
    dom = lookup(cert.x)

    def scoped(a: sp.Basic) -> Domain | None:
        return dom if a == s else lookup(a)

    if decide_sign(-sign * f2, scoped) <= 0 and sp.expand(f2) != 0:
        kind = "concave" if cert.concave else "convex"
        return Certificate(False, reason=f"could not prove f = {f} {kind} on the domain")
    if not _in_domain(cert.at, dom, lookup):
        return Certificate(False, reason=f"the tangent point {cert.at} is outside the domain")
    return out


def _in_domain(a: sp.Expr, dom: Domain | None, lookup: DomainLookup) -> bool:
    if dom is None:
        return False

    def side(end: float, is_open: bool, sign: int) -> bool:
        if math.isinf(end):
            return True
        d = sign * (a - sp.nsimplify(end))
        return decide_sign(d, lookup) > 0 or (not is_open and sp.expand(d) == 0)

    return side(dom.lo, dom.lo_open, 1) and side(dom.hi, dom.hi_open, -1)


def certify_nonnegative(e: Any, lookup: DomainLookup) -> Certificate:
    """A structural certificate that ``e`` ≥ 0 on the domain (see the module docstring)."""
    e = sp.sympify(e)
    if e.is_number:
        return Certificate(bool(e.is_nonnegative), ["number"],
                           reason="" if e.is_nonnegative else f"{e} < 0")
    if e.is_nonnegative:
        return Certificate(True, ["assumptions"])
    if isinstance(e, LogGap):
        ok = decide_sign(e.args[0], lookup) > 0
        return Certificate(ok, ["lemma"], {LOG_INEQUALITY} if ok else set(),
                           "" if ok else f"could not prove {e.args[0]} > 0")
    if isinstance(e, (sp.Add, sp.Mul)):
        parts = _all_nonnegative(e.args, lookup, "sum" if e.is_Add else "product")
        if parts.ok:
            return parts
        if e.is_Add and e.has(sp.log):
            via_lemma = _log_terms_as_lemma(e, lookup)
            if via_lemma.ok:
                return via_lemma
        if decide_sign(e, lookup, strict=False) <= 0:
            return parts
    if isinstance(e, sp.Pow):
        if e.exp.is_Integer and e.exp.is_even and _real(e.base, lookup):
            return Certificate(True, ["square"])
        if decide_sign(e.base, lookup) > 0:
            return Certificate(True, ["sign"])
        if e.exp.is_Integer and e.exp > 0:
            return certify_nonnegative(e.base, lookup)
    if isinstance(e, (GaussE, MvGaussE)):
        return _named(certify_nonnegative(e.args[0], lookup), "expectation")
    if isinstance(e, sp.Sum):
        return _named(certify_nonnegative(e.function, lookup), "sum")
    if isinstance(e, sp.Integral):
        return _integral(e, lookup)
    if decide_sign(e, lookup, strict=False) > 0:
        return Certificate(True, ["sign"])
    return Certificate(False, reason=f"could not prove {e} ≥ 0 on the declared domain")


def _real(e: sp.Expr, lookup: DomainLookup) -> bool:
    """e is real on the domain: real atoms combined by +, ×, integer powers, and
    rational powers of radicands proved positive."""
    if e.is_real:
        return True
    if isinstance(e, (sp.Add, sp.Mul)):
        return all(_real(a, lookup) for a in e.args)
    if isinstance(e, sp.Pow):
        if e.exp.is_Integer:
            return _real(e.base, lookup)
        return bool(e.exp.is_real) and decide_sign(e.base, lookup) > 0
    if isinstance(e, (GaussE, MvGaussE)):
        return _real(e.args[0], lookup)
    return False


def _log_terms_as_lemma(e: sp.Add, lookup: DomainLookup) -> Certificate:
    """Write every c·log B of a sum through the lemma: c log B = |c| (LogGap(A) − A + 1)
    with A = B for c < 0 and A = 1/B for c > 0 (exact where A > 0 is proved), and
    certify the rest, which no longer has those logarithms."""
    lemma_terms, rest = [], []
    for term in e.args:
        c, f = term.as_coeff_Mul()
        if isinstance(f, sp.log) and c.is_number and c != 0:
            B = f.args[0]
            A = B if c < 0 else 1 / B
            if decide_sign(A, lookup) <= 0:
                return Certificate(False, reason=f"could not prove {A} > 0 for the lemma")
            lemma_terms.append((abs(c), A))
        else:
            rest.append(term)
    if not lemma_terms:
        return Certificate(False, reason="no logarithm to apply the lemma to")
    remainder = _factor_with_roots(
        sp.Add(*rest) - sp.Add(*[c * (A - 1) for c, A in lemma_terms]))
    out = certify_nonnegative(remainder, lookup)
    if not out.ok:
        return out
    return Certificate(True, ["lemma"] + out.how, out.lemmas | {LOG_INEQUALITY})


def _factor_with_roots(e: sp.Expr) -> sp.Expr:
    """Factor e with each root b^(p/q) of a positive symbol b written as r^p, b as r^q
    (r > 0), so that squares such as (√α c − 1)² are seen; then map back."""
    roots = [a for a in e.atoms(sp.Pow)
             if a.exp.is_Rational and not a.exp.is_Integer and isinstance(a.base, sp.Symbol)
             and a.base.is_positive]
    q_of: dict[sp.Symbol, int] = {}
    for a in roots:
        q_of[a.base] = int(sp.ilcm(q_of.get(a.base, 1), a.exp.q))
    gens = {b: sp.Dummy(f"root_{b}", positive=True) for b in q_of}
    forward = {b: gens[b] ** q for b, q in q_of.items()}
    e = sp.sympify(e).xreplace({a: gens[a.base] ** (a.exp * q_of[a.base]) for a in roots})
    e = e.xreplace(forward)
    f = sp.factor(sp.cancel(sp.together(e)))
    return f.xreplace({g: b ** sp.Rational(1, q_of[b]) for b, g in gens.items()})


def _all_nonnegative(args: tuple, lookup: DomainLookup, how: str) -> Certificate:
    out = Certificate(True, [how])
    for a in args:
        c = certify_nonnegative(a, lookup)
        if not c.ok:
            return c
        out.how += c.how
        out.lemmas |= c.lemmas
    return out


def _named(c: Certificate, how: str) -> Certificate:
    c.how.insert(0, how)
    return c


def _integral(e: sp.Integral, lookup: DomainLookup) -> Certificate:
    if len(e.limits) != 1 or len(e.limits[0]) != 3:
        return Certificate(False, reason="an integral certificate needs one definite integral")
    u, a, b = e.limits[0]
    if not (decide_sign(b - a, lookup) > 0 or sp.expand(b - a) == 0):
        return Certificate(False, reason=f"could not prove the limits ordered: {a} ≤ {b}")
    tau = sp.Dummy("tau", positive=True)

    def scoped(s: sp.Basic) -> Domain | None:
        return UNIT_OPEN if s == tau else lookup(s)

    inner = certify_nonnegative(e.function.xreplace({u: a + (b - a) * tau}), scoped)
    return _named(inner, "integral")

