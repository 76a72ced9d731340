"""The catalogue's formulas: parsed, evaluated, and tied to the step that decides them.

An entry's ``formula`` is its claim written in SymPy syntax, one or more relations
``A == B``, ``A != B``, ``A <= B`` or ``A >= B`` separated by ``;``.

* An entry decided by ``formula`` declares its symbols with their domains
  (``symbols = { m = "real", v = "variance" }``, names from
  :data:`ddpm_theory.domains.DOMAINS`); :func:`evaluate` computes both sides of each
  relation to 30 digits at seeded random points of those domains (integrals by
  mpmath quadrature, finite sums and products term by term, limits by SymPy) and
  decides the claim:
  an ``==``, ``<=`` or ``>=`` claim is verified when it holds at every point and refuted
  at the first point where it fails; a ``!=`` claim ("not equal in general") is verified
  at the first point where the two sides differ, and refuted when they agree at every
  point (the first point is shown, both sides equal there).
* An entry decided by a derivation records the very relation the deciding step checks,
  ``previous == claimed`` for a refuted step and ``start op last`` for a verified part,
  ``op`` being the relation the part's steps establish (``>=`` for a chain with a ``≥``
  step, ``<=`` for one with a ``≤`` step, ``==`` otherwise);
  :func:`formula_ties` parses it with the derivation's own symbols and functions and
  confirms that it is that relation, so editing the formula breaks ``--check``.

Examples
--------
>>> r = evaluate("Integral(exp(-(x - m)**2/(2*v))/sqrt(2*pi*v), (x, -oo, oo)) == 1",
...              {"x": "real", "m": "real", "v": "variance"}, n_points=2)
>>> r.status
'verified'
>>> evaluate("a*b == a + b", {"a": "positive", "b": "positive"}).status
'refuted'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

__all__ = ["FormulaError", "Evaluation", "parse_relations", "evaluate", "formula_ties",
           "deciding_relation", "chain_op", "relation_text", "RELATIONS"]

RELATIONS = ("==", "!=", "<=", ">=")
#: significant digits of the evaluation, and the relative agreement that counts as equal
DIGITS = 30
REL_TOL = 1e-15
_SPLIT = re.compile(r"\s(==|!=|<=|>=)\s")


class FormulaError(ValueError):
    """A formula that does not parse, names an undeclared symbol, or has no relation."""


@dataclass(frozen=True)
class Evaluation:
    """The verdict of a formula and the point that decided it (both sides' values)."""

    status: str                 # "verified" or "refuted"
    relation: str               # the relation (text) that decided
    point: dict[str, str] = field(default_factory=dict)
    lhs: str = ""
    rhs: str = ""
    n_points: int = 0


def _symbols(declared: Mapping[str, str]) -> dict[str, Any]:
    from .domains import DOMAINS

    out: dict[str, Any] = {}
    for name, dom in declared.items():
        if dom not in DOMAINS:
            raise FormulaError(f"symbol {name!r}: unknown domain {dom!r}; domains: "
                               f"{sorted(DOMAINS)}")
        out[name] = sp.Symbol(name, **DOMAINS[dom].sympy_assumptions())
    return out


def parse_relations(text: str, local: Mapping[str, Any],
                    evaluate: bool = True) -> list[tuple[Any, str, Any]]:
    """``[(lhs, op, rhs), ...]`` of ``A op B; ...`` parsed with ``local`` names only
    (a name neither in ``local`` nor a SymPy function or constant is an error)."""
    out = []
    for chunk in (c.strip() for c in text.split(";")):
        if not chunk:
            continue
        pieces = _SPLIT.split(chunk)
        if len(pieces) != 3:
            raise FormulaError(f"{chunk!r}: expected exactly one of {RELATIONS} with a "
                               "space on each side")
        a, op, b = pieces
        out.append((_parse(a, local, evaluate), op, _parse(b, local, evaluate)))
    if not out:
        raise FormulaError("empty formula")
    return out


def _parse(text: str, local: Mapping[str, Any], evaluate: bool = True) -> Any:
    from sympy.parsing.sympy_parser import parse_expr

    try:
        expr = parse_expr(text, local_dict=dict(local), evaluate=evaluate)
    except Exception as exc:  # noqa: BLE001 - SymPy raises many kinds; name the text
        raise FormulaError(f"{text!r} does not parse: {exc}") from None
    free = {str(s) for s in getattr(expr, "free_symbols", set())
            if isinstance(s, sp.Symbol)} - set(local)
    bound = {str(v) for e in sp.preorder_traversal(expr) if isinstance(e, sp.Basic)
             for v in getattr(e, "variables", ())}
    if free - bound:
        raise FormulaError(f"{text!r}: undeclared symbol(s) {sorted(free - bound)}")
    return expr


def _quad(integral: sp.Integral) -> sp.Expr:
    """A one-variable integral with numeric limits, by mpmath quadrature at DIGITS."""
    import mpmath

    (var, lo, hi), = integral.limits
    f = sp.lambdify(var, integral.function, modules="mpmath")
    with mpmath.workdps(DIGITS + 5):
        return sp.Float(mpmath.quad(f, [lo, hi]), DIGITS)


def _terms(op: Any) -> Any:
    """A finite sum or product with integer limits, term by term at DIGITS (``doit``
    would look for a closed form first); other limits are left to ``doit``."""
    if len(op.limits) != 1:
        return op.doit()
    (k, lo, hi), = op.limits
    if not (lo.is_Integer and hi.is_Integer) or hi - lo > 100_000:
        return op.doit()
    f = sp.lambdify(k, op.function, modules="mpmath")
    import mpmath

    with mpmath.workdps(DIGITS + 5):
        vals = [f(i) for i in range(int(lo), int(hi) + 1)]
        out = mpmath.fsum(vals) if isinstance(op, sp.Sum) else mpmath.fprod(vals)
        return sp.Float(out, DIGITS)


def _value(expr: Any, point: Mapping[Any, Any]) -> sp.Expr:
    e = sp.sympify(expr).subs(point)
    e = e.replace(lambda s: isinstance(s, sp.Limit), lambda s: s.doit())
    e = e.replace(lambda s: isinstance(s, (sp.Sum, sp.Product))
                  and not s.free_symbols - {v for v, *_ in s.limits}, _terms)
    e = e.replace(lambda s: isinstance(s, sp.Integral) and len(s.limits) == 1
                  and len(s.limits[0]) == 3 and not s.free_symbols - {s.limits[0][0]},
                  _quad)
    return sp.N(e, DIGITS)


def _holds(a: sp.Expr, op: str, b: sp.Expr) -> bool:
    if not (a.is_number and b.is_number):
        raise FormulaError(f"a side did not evaluate to a number ({a}, {b})")
    close = bool(abs(a - b) <= REL_TOL * max(1, abs(a), abs(b)))
    if op in ("==", "!="):
        return close if op == "==" else not close
    return close or bool(a <= b if op == "<=" else a >= b)


def evaluate(text: str, declared: Mapping[str, str], n_points: int = 6,
             seed: int = 0) -> Evaluation:
    """Decide ``text`` by evaluating its relations at ``n_points`` points of the declared
    domains (see the module docstring for what each relation needs)."""
    from .domains import DOMAINS

    syms = _symbols(declared)
    relations = parse_relations(text, syms)
    rng = np.random.default_rng(seed)
    points = [{syms[n]: sp.Float(DOMAINS[d].sample(rng), DIGITS) for n, d in declared.items()}
              for _ in range(n_points)]
    for lhs, op, rhs in relations:
        first: Evaluation | None = None
        for pt in points:
            a, b = _value(lhs, pt), _value(rhs, pt)
            where = {str(k): str(val) for k, val in pt.items()}
            if _holds(a, op, b) == (op == "!="):
                status = "verified" if op == "!=" else "refuted"
                return Evaluation(status, f"{lhs} {op} {rhs}", where, str(a), str(b), n_points)
            if op == "!=" and first is None:  # equal here: where the != claim fails
                first = Evaluation("refuted", f"{lhs} {op} {rhs}", where, str(a), str(b),
                                   n_points)
        if first is not None:  # equal at every point: the != claim is refuted
            return first
    last = relations[-1]
    return Evaluation("verified", f"{last[0]} {last[1]} {last[2]}", n_points=n_points)


# -- the tie between a derivation-decided entry's formula and its deciding step ----------
def deciding_relation(derivation: Any, part: str | None, refuted: bool
                      ) -> tuple[Any, Any, str]:
    """``(before, claimed, op)``: for a refuted entry the expressions on either side of the
    first claimed-false step of the part (or derivation), with ``op`` ``"=="``; otherwise
    the start and the last expression of the part (of the last part, for a whole
    derivation), with ``op`` the relation the chain establishes: ``">="`` when a step is
    ``≥`` (and none ``≤``), ``"<="`` the other way round, else ``"=="``."""
    parts = [p for p in derivation.parts if part is None or p.title == part]
    if refuted:
        for p in parts:
            prev = p.start
            for s in p.steps:
                if s.claimed_false:
                    return prev, s.expr, "=="
                prev = s.expr
        raise FormulaError(f"{derivation.name}: no claimed-false step"
                           + (f" in part {part!r}" if part else ""))
    if not parts:
        raise FormulaError(f"{derivation.name}: no part {part!r}")
    p = parts[-1]
    return p.start, (p.steps[-1].expr if p.steps else p.start), chain_op(p.steps)


def chain_op(steps: Any) -> str:
    """The relation a chain of steps establishes between its start and its end."""
    kinds = {s.relation.value for s in steps}
    if ">=" in kinds and "<=" in kinds:
        raise FormulaError("a chain with both ≤ and ≥ steps establishes no relation")
    return ">=" if ">=" in kinds else "<=" if "<=" in kinds else "=="


def _names(*exprs: Any) -> dict[str, Any]:
    """Every symbol, undefined function, indexed base and custom function class of
    ``exprs``, by the name ``str`` prints it with."""
    out: dict[str, Any] = {}
    bases: dict[str, Any] = {}
    for e in exprs:
        for node in sp.preorder_traversal(sp.sympify(e)):
            if isinstance(node, sp.Indexed):
                bases[str(node.base)] = node.base
            elif isinstance(node, sp.IndexedBase):
                bases[str(node)] = node
            elif isinstance(node, sp.Symbol):
                out[str(node)] = node
            elif isinstance(node, sp.Function) and not hasattr(sp, type(node).__name__):
                out[type(node).__name__] = type(node)
    return {**out, **bases}


def relation_text(before: Any, claimed: Any, op: str = "==") -> str:
    """The formula text of a deciding relation (what ``formula`` should hold)."""
    return f"{sp.sstr(before)} {op} {sp.sstr(claimed)}"


def _same(a: Any, b: Any) -> bool:
    a, b = (tuple(x) if isinstance(x, sp.Tuple) else x for x in (a, b))
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b)))
    a, b = sp.sympify(a), sp.sympify(b)
    if a == b:
        return True
    try:
        return bool(sp.simplify(a - b) == 0)
    except Exception:  # noqa: BLE001 - an expression SymPy cannot subtract is not equal
        return False


def formula_ties(text: str, derivation: Any, part: str | None, refuted: bool) -> str:
    """Empty when ``text`` is the deciding relation of the derivation (part); else the
    reason it is not (parsed with the derivation's own names).  A verified entry decided
    by a whole derivation may record the relation of any one of its parts (the one that
    states the claim; the verdict is the whole derivation's)."""
    if part is None and not refuted and len(derivation.parts) > 1:
        whys = [formula_ties(text, derivation, p.title, False) for p in derivation.parts]
        return "" if "" in whys else whys[0] + " (nor any other part's)"
    before, claimed, op = deciding_relation(derivation, part, refuted)
    try:
        rels = parse_relations(text, _names(before, claimed), evaluate=False)
    except FormulaError as exc:
        return str(exc)
    if len(rels) != 1 or rels[0][1] != op:
        return (f"a derivation-decided formula is one relation 'before {op} claimed' "
                "(the relation its deciding chain establishes)")
    a, _, b = rels[0]
    if not _same(a, before):
        return f"its left side is not the deciding step's: {sp.sstr(before)}"
    if not _same(b, claimed):
        return f"its right side is not the deciding step's: {sp.sstr(claimed)}"
    return ""
