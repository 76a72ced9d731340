"""Applying a registered lemma: the certificate :class:`Apply` of an equality step.

``Apply(lemma, part, mapping)`` says that the step *is* the lemma's ``part`` applied under
``mapping`` (lemma symbol -> expression).  The instance is computed, never typed: the
part's start S and end E with the lemma's definitions substituted and the mapping applied.
Each mapped value must lie in the lemma symbol's declared domain (proved, as signs are),
and the lemma must be registered, verified and independent of the derivation applying it.

**The rewrite rule.**  The step "previous = this" is accepted as an application only if the
instance *occurs* in it, and the symbolic line then decides the step with the occurrence
rewritten: S in the previous expression rewritten to E (tried first), else E in this step
rewritten to S, else the lemma read right to left (E in the previous expression, S in this
step).  Every occurrence in that side is rewritten.  An occurrence is found, searched from
the root, as

* a sub-expression equal to S (up to algebra: the difference expands or cancels to 0; only
  candidates with S's symbols and operators are compared),
* a sub-sum c·S of a sum, *term by term*, for a non-zero number c (SymPy distributes a
  number over a sum): each term of S times c equals (up to algebra) a distinct term of the
  sum, so that S is never "found" by cancelling it against the rest;

a tuple (mean, variance) is rewritten component by component (a tuple lemma: in every
component; a scalar lemma: in every component where it occurs, at least one).  Merely
"previous − this = S − E" is *not* enough: for a lemma that is an algebraic identity
S − E simplifies to 0, and a true step with a wrong mapping, or with an irrelevant lemma,
would pass and record a dependency it never used.  With the occurrence required, the
instance under a wrong mapping is absent from the step and the application is refused with
the reason.  What is accepted is a *use* of the lemma: a mapping under which a side of the
instance still occurs (a symmetric lemma with its symbols swapped, a lemma homogeneous in a
symbol at a scaled value with c compensating) is a valid application and passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sympy as sp

from .signs import DomainLookup

if TYPE_CHECKING:
    from .certificates import Certificate

__all__ = ["Apply", "Instance", "lemma_sides", "lemma_instance", "apply_lemma"]


@dataclass(frozen=True)
class Apply:
    """Certificate of an equality step: it is an instance of ``part`` (index or title) of
    the registered derivation ``lemma`` under ``mapping`` (lemma symbol -> expression)."""

    lemma: str
    part: int | str = 0
    mapping: Any = field(default_factory=dict)


@dataclass(frozen=True)
class Instance:
    """The lemma's part under the mapping: start S = end E."""

    start: Any
    end: Any


def lemma_sides(cert: Apply, lookup: DomainLookup) -> tuple[Instance | None, Certificate]:
    """(the instance S = E, the certificate: its domain side conditions and the lemma it
    depends on); None with the reason when the lemma cannot be applied at all."""
    from . import registry
    from .certificates import Certificate, _in_domain, expand_lemmas
    from .procedures import make_lookup, substitute_definitions

    try:
        lemma = registry.get(cert.lemma)
    except KeyError:
        return None, Certificate(False, reason=f"lemma {cert.lemma!r} is not registered")
    parts = [p for k, p in enumerate(lemma.parts) if cert.part in (k, p.title)]
    if len(parts) != 1:
        return None, Certificate(False, reason=f"lemma {cert.lemma!r} has no part {cert.part!r}")
    part = parts[0]
    if not part.steps or any(s.relation.value != "=" or s.claimed_false for s in part.steps):
        return None, Certificate(False, reason="only a part of plain equalities can be applied")
    subs = dict(lemma.definitions)
    for a in lemma.assumptions:
        subs.update(a.substitutions)
    lemma_lookup = make_lookup(lemma.domains)
    for s, value in dict(cert.mapping).items():
        dom = lemma_lookup(s)
        value = sp.sympify(value)
        if dom is not None and dom.integer and not value.is_integer:
            return None, Certificate(False, reason=f"{s} := {value} must be an integer")
        if dom is not None and not _in_domain(value, dom, lookup):
            return None, Certificate(
                False, reason=f"could not prove {s} := {value} inside {s}'s domain "
                              f"{dom.interval_text()} (the lemma holds only there)")
    mapping = {s: sp.sympify(v) for s, v in dict(cert.mapping).items()}

    def side(e: Any) -> Any:
        return _each(e, lambda x: expand_lemmas(
            substitute_definitions(sp.sympify(x), subs)).xreplace(mapping))

    return Instance(side(part.start), side(part.steps[-1].expr)), Certificate(
        True, ["apply"], {cert.lemma})


def lemma_instance(cert: Apply, lookup: DomainLookup) -> tuple[Any, Certificate]:
    """(start − end of the lemma's part under the mapping, the certificate)."""
    inst, out = lemma_sides(cert, lookup)
    if inst is None:
        return None, out
    if isinstance(inst.start, sp.Tuple):
        return sp.Tuple(*[a - b for a, b in zip(inst.start, inst.end)]), out
    return inst.start - inst.end, out


def apply_lemma(cert: Apply, lhs: Any, rhs: Any, lookup: DomainLookup
                ) -> tuple[tuple[Any, Any] | None, Certificate]:
    """The step "lhs = rhs" rewritten by the lemma's instance (the pair the symbolic line
    must prove equal), or None with the reason why the step is not an application."""
    inst, out = lemma_sides(cert, lookup)
    if inst is None:
        return None, out
    for side, (find, put) in ((0, (inst.start, inst.end)), (1, (inst.end, inst.start)),
                              (0, (inst.end, inst.start)), (1, (inst.start, inst.end))):
        found = _rewrite((lhs, rhs)[side], find, put)
        if found is not None:
            return ((found, rhs) if side == 0 else (lhs, found)), out
    from .certificates import Certificate

    return None, Certificate(False, reason=(
        f"the lemma's instance S = E does not occur in the step under this mapping: "
        f"neither S = {_short(inst.start)} nor E = {_short(inst.end)} occurs in the "
        f"previous expression or in this step"))


# -- the rewrite -------------------------------------------------------------------------
def _each(e: Any, f: Any) -> Any:
    if isinstance(e, (tuple, sp.Tuple)):
        return sp.Tuple(*[_each(x, f) for x in e])
    return f(e)


def _rewrite(expr: Any, start: Any, end: Any) -> Any:
    """``expr`` with an occurrence of ``start`` replaced by ``end``; None when absent."""
    if isinstance(expr, sp.MatrixBase):
        flat = _rewrite(sp.Tuple(*expr), start, end)
        return None if flat is None else sp.Matrix(expr.rows, expr.cols, list(flat))
    if isinstance(expr, (tuple, sp.Tuple)):
        if isinstance(start, sp.Tuple):
            if len(start) != len(expr):
                return None
            out = [_rewrite(x, s, e) for x, s, e in zip(expr, start, end)]
            return None if any(o is None for o in out) else sp.Tuple(*out)
        done = [_rewrite(x, start, end) for x in expr]
        if all(o is None for o in done):
            return None
        return sp.Tuple(*[x if o is None else o for x, o in zip(expr, done)])
    if isinstance(start, sp.Tuple):
        return None
    start, end = sp.sympify(start), sp.sympify(end)
    if start == 0:
        return None
    return _rewrite_scalar(sp.sympify(expr), start, end)


def _rewrite_scalar(expr: sp.Basic, start: sp.Expr, end: sp.Expr) -> Any:
    """Every occurrence rewritten, searched from the root; None when there is none."""
    here = _at_node(expr, start, end)
    if here is not None or not expr.args or isinstance(expr, sp.Tuple):
        return here
    args, found = list(expr.args), False
    for k, arg in enumerate(args):
        if isinstance(arg, sp.Expr) and not arg.is_Atom:
            inner = _rewrite_scalar(arg, start, end)
            if inner is not None:
                args[k], found = inner, True
    return expr.func(*args) if found else None


def _at_node(expr: sp.Basic, start: sp.Expr, end: sp.Expr) -> Any:
    """end where expr is start (up to algebra), or c·end + rest where expr is a sum with
    c·start among its terms, term by term (c a non-zero number); else None."""
    if not isinstance(expr, sp.Expr):
        return None
    if _ratio(expr, start) == 1:
        return end
    if not isinstance(expr, sp.Add):
        return None
    terms, parts = list(expr.args), sp.Add.make_args(start)
    if len(parts) > len(terms):
        return None
    for j, first in enumerate(terms):
        c = _ratio(first, parts[0])
        if c is None:
            continue
        rest = terms[:j] + terms[j + 1:]
        for p in parts[1:]:
            hit = next((i for i, u in enumerate(rest) if _same(u, c * p)), None)
            if hit is None:
                break
            rest.pop(hit)
        else:
            return sp.Add(*rest) + c * end
    return None


def _ratio(expr: sp.Expr, start: sp.Expr) -> sp.Expr | None:
    """The non-zero number c with expr = c·start (up to algebra), else None.  Only a
    candidate with the same symbols and the same operators (limits, integrals, functions)
    is compared, with c = ±1 or the ratio of the numeric coefficients."""
    if expr == start:
        return sp.Integer(1)
    if expr.free_symbols != start.free_symbols or _heads(expr) != _heads(start):
        return None
    (ce, re), (cs, rs) = expr.as_coeff_Mul(), start.as_coeff_Mul()
    if cs != 0 and re == rs and ce != 0:
        return ce / cs
    for c in dict.fromkeys((sp.Integer(1), sp.Integer(-1), ce / cs if cs else sp.Integer(1))):
        if c != 0 and _same(expr, c * start):
            return c
    return None


def _heads(e: sp.Basic) -> frozenset[type]:
    arith = (sp.Add, sp.Mul, sp.Pow, sp.Indexed, sp.Tuple)
    return frozenset(type(a) for a in sp.preorder_traversal(e)
                     if not (a.is_Atom or isinstance(a, arith)))


def _same(a: sp.Expr, b: sp.Expr) -> bool:
    if a == b:
        return True
    d = a - b
    if _numerically_nonzero(d):
        return False
    try:
        if sp.expand(d) == 0:
            return True
        # a rational normal form, where the operators are elementary (over an expectation
        # or a limit it only tries every common-denominator form, slowly, for nothing)
        return _heads(d) <= _ELEMENTARY and sp.cancel(sp.together(d)) == 0
    except Exception:  # an expression the normal forms cannot take has not been shown equal
        return False


#: the operators at which a difference is screened numerically before any algebra
_ELEMENTARY = frozenset({sp.exp, sp.log})


def _numerically_nonzero(d: sp.Expr) -> bool:
    """A quick screen, used only to skip the algebra (never to accept): an elementary d
    at one generic point (integers 3, 4, ... for integer symbols, else 0.3..0.9, inside
    every declared domain of the notation) is clearly non-zero."""
    if not _heads(d) <= _ELEMENTARY or d.has(sp.Indexed):
        return False
    point, k = {}, 0
    for s in sorted(d.free_symbols, key=str):
        k += 1
        point[s] = sp.Integer(2 + k) if s.is_integer else sp.Rational(3 + (37 * k) % 61, 100)
    try:
        value = complex(d.xreplace(point).evalf(30))
    except (TypeError, ValueError, ZeroDivisionError):
        return False
    return abs(value) > 1e-12


def _short(e: Any, limit: int = 160) -> str:
    s = str(e)
    return s if len(s) <= limit else s[: limit - 3] + "..."
