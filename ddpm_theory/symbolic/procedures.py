"""Decision procedures for "this expression is identically zero" (tier S0).

The pipeline is matched to the expression class (docs/verification.md, tier S0):

1. definitions are substituted (β_t := 1 − α_t, ᾱ_t := ᾱ_{t−1} α_t, ...) and Gaussian
   expectations are evaluated by the moment rule;
2. sums and products with a symbolic limit are decided by induction on that limit
   (base case and the step n → n + 1, each decided by this same pipeline);
3. logarithms: log(f g) = log f + log g, log(f^k) = k log f and log(exp y) = y are applied
   only where the sign of every factor is *proved* on the declared domain
   (:func:`ddpm_theory.symbolic.signs.decide_sign`; never at sample points, never with
   a forced expansion); each remaining ``log`` becomes an independent generator;
4. radicals: every factor of a radicand proved positive on the domain becomes a
   generator r with r^q = f (a radicand with a factor of unproved sign keeps one
   generator for the whole radicand); these relations have pairwise coprime leading
   terms, so with any user-supplied polynomial premises they are turned into a Gröbner
   basis and the numerator is reduced modulo it;
5. what is left is a rational function; ``cancel(together(·))`` must give exactly 0.

Zero at the end proves the identity (modulo the stated premises); a non-zero remainder
is reported.  ``simplify`` is used only as a last, time-boxed fallback.  The numeric
check in :mod:`ddpm_theory.symbolic.numeric_check` is an independent second line.
"""

from __future__ import annotations

import math
import signal
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from ..domains import Domain
from .expectation import evaluate_expectations
from .signs import DomainLookup, decide_sign
from .sums import write_out_all

__all__ = ["Outcome", "substitute_definitions", "is_zero", "make_lookup"]


@dataclass
class Outcome:
    """Result of a decision procedure."""

    zero: bool
    methods: list[str] = field(default_factory=list)
    residual: sp.Expr | None = None
    note: str = ""

    @property
    def method(self) -> str:
        return "+".join(dict.fromkeys(self.methods)) or "trivial"


def substitute_definitions(expr: sp.Basic, definitions: Mapping[sp.Symbol, sp.Expr]) -> sp.Basic:
    """Apply the definitions until nothing changes (they may refer to each other).

    A key is a symbol (or any fixed expression), replaced by ``xreplace``; or an
    undefined function class ``f`` whose value is a ``sp.Lambda``, and then every
    application ``f(a, b, ...)`` becomes the Lambda applied to ``(a, b, ...)`` -- a
    definition such as q(x_{t−1} | x_t, x_0) := q(x_t | x_{t−1}) q(x_{t−1} | x_0) /
    q(x_t | x_0) for every t at once.
    """
    plain = {k: v for k, v in definitions.items() if not isinstance(k, sp.FunctionClass)}
    funcs = {k: v for k, v in definitions.items() if isinstance(k, sp.FunctionClass)}
    for _ in range(10):
        new = expr.xreplace(plain) if plain else expr
        for f, lam in funcs.items():
            new = new.replace(f, lambda *args, lam=lam: lam(*args))
        if new == expr:
            return new
        expr = new
    raise RecursionError("definitions do not terminate (a definition refers to itself)")


# -- time box --------------------------------------------------------------------
class _Timeout(Exception):
    pass


@contextmanager
def _time_box(seconds: float):
    """Raise _Timeout after ``seconds`` (only in the main thread; elsewhere no box)."""
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield False
        return

    def _raise(signum, frame):
        raise _Timeout

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# -- sums and products: induction on the symbolic limit ---------------------------------
def _symbolic_limit_atoms(expr: sp.Basic) -> list[sp.Basic]:
    return [
        a for a in expr.atoms(sp.Sum, sp.Product)
        if any(not lim.is_number for lim in a.limits[0][1:])
    ]


def _induction(
    expr: sp.Expr,
    atoms: list[sp.Basic],
    bases: Mapping[sp.Symbol, int],
    decide: Callable[[sp.Expr, list[sp.Expr]], Outcome],
    lookup: DomainLookup,
) -> Outcome:
    """e(n) = 0 for every n of n's domain: base cases written out (empty sums are 0,
    empty products 1) from the domain's first n up to the first n0 at which every
    recurrence S(n+1) = S(n) + f(n+1) holds (n0 ≥ lower limit − 1), then n0 → n0 + 1."""
    uppers = {a.limits[0][2] for a in atoms}
    ns = set().union(*(u.free_symbols for u in uppers))
    if len(ns) != 1 or any(a.limits[0][1].free_symbols & ns for a in atoms):
        return Outcome(False, ["induction"], expr, "induction needs one symbolic upper limit")
    (n,) = ns
    if any(a.function.free_symbols & {n} for a in atoms):
        return Outcome(False, ["induction"], expr, "a summand depends on the induction symbol")
    if any(sp.expand(u - n) != 0 for u in uppers):
        return Outcome(False, ["induction"], expr, "upper limits must be the induction symbol")
    lowers = [a.limits[0][1] for a in atoms]
    if not all(lo.is_Integer for lo in lowers):
        return Outcome(False, ["induction"], expr, "lower limits must be integers")
    first = _first_integer(n, bases, lookup)
    if first is None:
        return Outcome(False, ["induction"], expr, f"{n} has no integer domain with a first value")
    n0 = max(first, max(int(lo) for lo in lowers) - 1)
    for b in range(first, n0 + 1):  # base cases, every sum explicit
        base_expr = write_out_all(expr.xreplace({n: sp.Integer(b)}))
        out_base = decide(base_expr, [])
        if not out_base.zero:
            out_base.note = f"base case {n} = {b} fails. " + out_base.note
            out_base.methods.insert(0, "induction")
            return out_base
    # inductive step for n ≥ n0: with S(n) a free symbol for each sum/product over a..n,
    # the hypothesis e(n) = 0 must imply e(n+1) = 0, where S(n+1) = S(n) + f(n+1)
    # (times f(n+1) for products): e(n+1) is reduced modulo the hypothesis.
    step_map_n: dict[sp.Basic, sp.Basic] = {}
    step_map_n1: dict[sp.Basic, sp.Basic] = {}
    for i, a in enumerate(atoms):
        # a product of factors proved positive is positive (the empty product is 1)
        positive = isinstance(a, sp.Product) and decide_sign(a.function, lookup) > 0
        s = sp.Dummy(f"S{i}", positive=positive or None)
        (var, lo, hi) = a.limits[0]
        nxt = a.function.xreplace({var: hi + 1})
        step_map_n[a] = s
        step_map_n1[a] = s + nxt if isinstance(a, sp.Sum) else s * nxt
    e_n = expr.xreplace(step_map_n)
    e_n1 = _shift(expr, step_map_n1, n)
    out_step = decide(e_n1, [e_n])
    out_step.methods.insert(0, "induction")
    if not out_step.zero:
        out_step.note = f"inductive step {n} -> {n}+1 fails. " + out_step.note
    return out_step


def _first_integer(n: sp.Symbol, bases: Mapping[sp.Symbol, int], lookup: DomainLookup
                   ) -> int | None:
    """The first value of the integer symbol n: its declared induction base, else the
    lower end of its domain."""
    if n in bases:
        return int(bases[n])
    dom = lookup(n)
    if dom is None or not dom.integer or not math.isfinite(dom.lo):
        return None
    return int(math.ceil(dom.lo))


def _shift(expr: sp.Expr, sum_map: Mapping[sp.Basic, sp.Basic], n: sp.Symbol) -> sp.Expr:
    """expr at n+1, with each sum over 1..n+1 written as S(n) + f(n+1)."""
    dummies = {a: sp.Dummy() for a in sum_map}
    shielded = expr.xreplace(dummies).xreplace({n: n + 1})
    return shielded.xreplace({d: sum_map[a] for a, d in dummies.items()})


def _peel(expr: sp.Expr, bases: Mapping[sp.Symbol, int], lookup: DomainLookup) -> sp.Expr:
    """Write sums/products over a..n+k through the one with the smallest offset k0:
    S(n+k) = S(n+k0) + f(n+k0+1) + ... + f(n+k) (times, for products).  Valid only where
    n + k0 ≥ a − 1 for every n of n's domain (empty sums are 0): other groups are kept."""
    atoms = _symbolic_limit_atoms(expr)
    groups: dict[tuple, list[sp.Basic]] = {}
    for a in atoms:
        var, lo, hi = a.limits[0]
        n = sorted(hi.free_symbols, key=str)[0]
        groups.setdefault((type(a), a.function, var, lo, n), []).append(a)
    mapping = {}
    for (kind, f, var, lo, n), members in groups.items():
        offsets = {a: sp.expand(a.limits[0][2] - n) for a in members}
        if not all(o.is_Integer for o in offsets.values()):
            continue
        k0 = min(offsets.values())
        first = _first_integer(n, bases, lookup)
        if first is None or not lo.is_Integer or first + int(k0) < int(lo) - 1:
            continue
        ref = kind(f, (var, lo, n + k0))
        for a, k in offsets.items():
            extra = [f.xreplace({var: n + j}) for j in range(int(k0) + 1, int(k) + 1)]
            mapping[a] = ref + sp.Add(*extra) if kind is sp.Sum else ref * sp.Mul(*extra)
    return expr.xreplace(mapping)


def _normalize_exp(expr: sp.Expr) -> sp.Expr:
    """exp(a + b) → exp(a) exp(b); exp(c·u) then becomes a power of one generator for
    exp(u) in :func:`_generic_atoms` (exact identities)."""
    return sp.expand_power_exp(expr)


# -- logarithms --------------------------------------------------------------------------
def _split_integer_logs(expr: sp.Expr) -> sp.Expr:
    def fix(a):
        arg = a.args[0]
        if arg.is_Rational and arg > 0:
            num = sum(k * sp.log(p) for p, k in sp.factorint(arg.p).items())
            den = sum(k * sp.log(p) for p, k in sp.factorint(arg.q).items())
            return num - den
        return a

    return expr.replace(lambda a: isinstance(a, sp.log), fix)


#: _proved_log's results by (argument, the domain overrides of the lookup): a pure
#: function of both (the notation's domains are fixed), so consecutive steps, which share
#: their expressions, factor each logarithm once
_LOGS: dict[tuple, sp.Expr] = {}


def _proved_log_cached(arg: sp.Expr, lookup: DomainLookup) -> sp.Expr:
    scope = getattr(lookup, "scope", None)
    if scope is None:  # a lookup of unknown provenance: no caching
        return _proved_log(arg, lookup)
    key = (arg, scope)
    if key not in _LOGS:
        if len(_LOGS) >= 8192:
            _LOGS.clear()
        _LOGS[key] = _proved_log(arg, lookup)
    return _LOGS[key]


def _proved_log(arg: sp.Expr, lookup: DomainLookup) -> sp.Expr:
    """log(arg) as Σ k_j log f_j over the irreducible factors of arg, each oriented to be
    positive; log(b^e) = e log b and log(exp y) = y -- each only where the signs are
    proved on the declared domain.  Unchanged (one opaque log) otherwise: splitting
    would not be an identity of real logarithms."""
    if arg.is_Rational and arg.is_positive:
        return _split_integer_logs(sp.log(arg))
    if isinstance(arg, sp.exp) and arg.args[0].is_real:
        return arg.args[0]
    if isinstance(arg, sp.Pow) and arg.exp.is_real and decide_sign(arg.base, lookup) > 0:
        return arg.exp * _proved_log(arg.base, lookup)
    if isinstance(arg, sp.Product) and decide_sign(arg.function, lookup) > 0:
        return sp.Sum(_proved_log(arg.function, lookup), *arg.limits)
    if arg.is_number:
        return _split_integer_logs(sp.expand_log(sp.log(arg))) if arg.is_positive else (
            sp.log(arg))
    num, den = sp.fraction(sp.cancel(sp.together(arg)))
    coeff, terms = sp.Integer(1), []
    for poly, sign in ((num, 1), (den, -1)):
        c, facs = sp.factor_list(poly)
        coeff = coeff * c**sign
        for f, k in facs:
            s = decide_sign(f, lookup)
            if s == 0:
                return sp.log(arg)
            if s < 0:
                f, coeff = -f, coeff * sp.Integer(-1) ** k
            terms.append((sign * k, f))
    if not (coeff.is_number and coeff.is_positive):
        return sp.log(arg)
    if len(terms) == 1 and terms[0][0] == 1 and coeff == 1 and terms[0][1] == arg:
        return sp.log(arg)  # irreducible and positive: as far as it goes
    return _proved_log(coeff, lookup) + sp.Add(*[k * _proved_log(f, lookup) for k, f in terms])


class _Radicals:
    """Replace radicals by generators r with relations r^q = f."""

    def __init__(self, lookup: DomainLookup):
        self.lookup = lookup
        self.gens: dict[tuple[sp.Expr, int], sp.Symbol] = {}
        self.relations: list[sp.Expr] = []

    def gen(self, f: sp.Expr, q: int) -> sp.Symbol:
        key = (f, q)
        if key not in self.gens:
            r = sp.Dummy(f"r{len(self.gens)}", positive=True)
            self.gens[key] = r
            num, den = sp.fraction(sp.together(f))
            self.relations.append(sp.expand(r**q * den - num))
        return self.gens[key]

    def power(self, base: sp.Expr, e: sp.Rational) -> sp.Expr:
        p, q = e.p, e.q
        base = sp.cancel(sp.together(base))
        num, den = sp.fraction(base)
        coeff = sp.Integer(1)
        parts: list[tuple[sp.Expr, int]] = []
        for poly, sign in ((num, 1), (den, -1)):
            c, facs = sp.factor_list(poly)
            coeff = coeff * c**sign
            for f, k in facs:
                parts.append((f, sign * k))
        signs = [decide_sign(f, self.lookup) for f, _ in parts]
        if 0 in signs:  # cannot split safely: one generator for the whole radicand
            return self.gen(base, q) ** p
        out = sp.Integer(1)
        for (f, k), s in zip(parts, signs):
            if s < 0:
                f, coeff = -f, coeff * sp.Integer(-1) ** k
            out *= self.gen(f, q) ** (p * k)
        if coeff != 1:
            if coeff < 0:
                return self.gen(base, q) ** p
            c = coeff**e
            out *= c if c.is_Rational else self.gen(coeff, q) ** p
        return out

    def replace(self, expr: sp.Expr) -> sp.Expr:
        for _ in range(20):
            rad = [
                a for a in expr.atoms(sp.Pow)
                if a.exp.is_Rational and not a.exp.is_Integer
            ]
            if not rad:
                return expr
            expr = expr.xreplace({a: self.power(a.base, a.exp) for a in rad})
        raise RuntimeError("radical replacement did not terminate")


def _generic_atoms(expr: sp.Expr) -> tuple[sp.Expr, dict]:
    """Applied functions (log, exp, undefined f(t), ...), Indexed, and the sums, products
    and integrals left unevaluated become generators, each of these replaced whole: a
    generator for f(x) inside ∫ f(x) dx would be a constant that the integral pulls out
    (∫_0^1 f(x) h(x) dx would become f(x) ∫_0^1 h(x) dx)."""
    atoms = [a for a in expr.atoms(sp.Function, sp.Indexed, sp.Sum, sp.Product, sp.Integral)]
    # outermost first so that nested atoms are replaced whole
    atoms.sort(key=sp.count_ops, reverse=True)
    mapping: dict[sp.Basic, sp.Basic] = {}
    for a in atoms:  # exp(c·u), c rational: the c-th power of one generator for exp(u)
        if isinstance(a, sp.exp):
            c, rest = a.args[0].as_coeff_Mul()
            if c.is_Rational and c != 1:
                base = sp.exp(rest)
                if base not in mapping:
                    mapping[base] = sp.Dummy(f"g{len(mapping)}", positive=rest.is_real or None)
                mapping[a] = mapping[base] ** c
    for a in atoms:
        if a not in mapping:
            positive = bool(a.is_positive) or (
                isinstance(a, sp.Product) and bool(a.function.is_positive)
            )
            mapping[a] = sp.Dummy(f"g{len(mapping)}", positive=positive or None)
    return expr.xreplace(mapping), mapping


def _rational_zero(expr: sp.Expr, relations: list[sp.Expr]) -> tuple[bool, sp.Expr, str]:
    together = sp.together(expr)
    # Zero without the gcd: expr = N/D with D ≠ 0, so an N that expands to 0 proves it (and
    # then the cancelled numerator, N over a common factor, is 0 too: the same verdict).
    if sp.expand(sp.fraction(together)[0]) == 0:
        return True, sp.Integer(0), "rational"
    # Otherwise cancel first: the remainder reported, and reduced modulo the relations,
    # is the numerator in lowest terms.
    num, _ = sp.fraction(sp.cancel(together))
    num = sp.expand(num)
    if num == 0:
        return True, sp.Integer(0), "rational"
    if not relations:
        return False, num, "rational"
    gens = sorted(
        num.free_symbols | set().union(*(r.free_symbols for r in relations)),
        key=lambda s: (not isinstance(s, sp.Dummy), str(s)),
    )
    G = sp.groebner(relations, *gens, order="lex")
    _, rem = G.reduce(num)
    rem = sp.expand(rem)
    return rem == 0, rem, "groebner"


def make_lookup(overrides: Mapping[sp.Basic, Domain] = {}) -> DomainLookup:
    """The domain of a symbol (or of an Indexed member, through its family): the scoped
    ``overrides`` first, then the declared notation; None for symbols it does not know
    beyond their assumptions (e.g. the generators made by this module)."""
    from .notation import DOMAIN_OF

    def lookup(s: sp.Basic) -> Domain | None:
        if s in overrides:
            return overrides[s]
        if isinstance(s, sp.Indexed):
            return lookup(s.base.label)
        if isinstance(s, sp.Dummy):
            return None
        if s in DOMAIN_OF:
            return DOMAIN_OF[s]
        return None

    try:  # what the answers depend on: the overrides and the notation (which only grows)
        lookup.scope = (frozenset(overrides.items()), len(DOMAIN_OF))  # type: ignore[attr-defined]
    except TypeError:  # an unhashable domain: callers do not cache
        pass
    return lookup


def is_zero(
    expr: sp.Basic,
    *,
    definitions: Mapping[sp.Symbol, sp.Expr] = {},
    relations: Iterable[sp.Expr] = (),
    domains: Mapping[sp.Basic, Domain] = {},
    induction_bases: Mapping[sp.Symbol, int] = {},
    fallback_seconds: float = 5.0,
    opaque_limits: bool = False,
    hypotheses: Iterable[sp.Expr] = (),
) -> Outcome:
    """Decide whether ``expr`` is identically zero on the declared domains (the notation's,
    overridden by ``domains``)."""
    lookup = make_lookup(domains)
    relations = [sp.expand(substitute_definitions(r, definitions)) for r in relations]
    again: dict[str, Any] = dict(relations=relations, domains=domains,
                                 induction_bases=induction_bases)
    if isinstance(expr, (sp.MatrixBase, sp.Tuple, tuple, list)):
        outcomes = [
            is_zero(e, definitions=definitions, fallback_seconds=fallback_seconds, **again)
            for e in (expr if not isinstance(expr, sp.MatrixBase) else list(expr))
        ]
        bad = [o for o in outcomes if not o.zero]
        used = [m for o in outcomes for m in o.methods]
        if bad:
            return Outcome(False, used, bad[0].residual, bad[0].note)
        return Outcome(True, used)

    methods: list[str] = []
    e = substitute_definitions(sp.sympify(expr), definitions)
    if e.atoms(sp.Function) and any(
        type(a).__name__ in ("GaussE", "MvGaussE") for a in e.atoms(sp.Function)
    ):
        try:
            e = evaluate_expectations(e)
        except NotImplementedError as exc:
            return Outcome(False, ["moments"], e, str(exc))
        methods.append("moments")

    if e.has(sp.Integral, sp.Limit):
        e = e.replace(lambda a: isinstance(a, (sp.Integral, sp.Limit)), lambda a: a.doit())
    lim = _symbolic_limit_atoms(e)
    if lim and not opaque_limits:
        e = _peel(e, induction_bases, lookup)
        opaque = is_zero(e, opaque_limits=True, fallback_seconds=0, **again)
        if opaque.zero:
            opaque.methods = methods + ["peel"] + opaque.methods
            return opaque
        lim = _symbolic_limit_atoms(e)

        def decide(sub: sp.Expr, hyps: list[sp.Expr]) -> Outcome:
            return is_zero(sub, hypotheses=hyps, fallback_seconds=fallback_seconds, **again)
        out = _induction(e, lim, induction_bases, decide, lookup)
        out.methods = methods + out.methods
        return out
    e = write_out_all(e)  # sums with integer limits: the usual convention, not Karr's

    # target, premises and hypotheses go through the same canonical replacement together:
    # a premise such as f(1) = 1 must speak of the target's generator for f(1) (left as
    # it is, f(1) − 1 would be a non-zero constant of the Groebner basis, which then
    # reduces every numerator to 0)
    hyps = [*relations, *hypotheses]
    tup = sp.Tuple(e, *hyps)
    if tup.has(sp.exp):
        tup = sp.Tuple(*[_normalize_exp(x) for x in tup])
        methods.append("exp")
    if tup.has(sp.log):
        # factor each argument first, so that log((1 − a)(1 − b)) and log(1 − a − b + ab)
        # become the same generators log(1 − a) + log(1 − b) -- where the signs are proved
        tup = tup.replace(sp.log, lambda a: _proved_log_cached(a, lookup))
        methods.append("log")
    tup, _ = _generic_atoms(tup)
    rad = _Radicals(lookup)
    tup = rad.replace(tup)
    if rad.relations:
        methods.append("radicals")
    e, hyp_polys = tup[0], [sp.expand(sp.fraction(sp.cancel(sp.together(h)))[0]) for h in tup[1:]]
    zero, rem, how = _rational_zero(e, rad.relations + hyp_polys)
    methods.append(how)
    if zero:
        return Outcome(True, methods)
    # Last resort: time-boxed simplify on the original expression.
    if fallback_seconds > 0:
        try:
            with _time_box(fallback_seconds) as boxed:
                if boxed:
                    s = sp.simplify(substitute_definitions(sp.sympify(expr), definitions))
                    if s == 0:
                        return Outcome(True, methods + ["simplify"])
        except _Timeout:
            pass
    return Outcome(False, methods, rem, "non-zero remainder")
