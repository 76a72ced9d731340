"""Check one identity or inequality with the engine's two lines.

:func:`check` turns ``LHS = RHS`` (or ``<=``/``>=``) into a one-step derivation: the
left-hand side is the start, the right-hand side the step, and the engine checks it as
it checks its own steps (definitions substituted, a decision procedure that must reach
exactly 0, and the 50-digit numeric check at random points of the declared domains; an
inequality's gap must also be certified ≥ 0 on the whole domain).  Three answers:

* :attr:`Verdict.TRUE`: the step verified;
* :attr:`Verdict.FALSE`: the numeric check found a *certified* counterexample (the same
  disagreement at two precisions and quadrature rules, or a negative gap); the point and
  both sides' values are given;
* :attr:`Verdict.UNDECIDED`: neither; the reason is given (a symbolic remainder the
  procedures could not reduce, a gap that could not be certified, ...).

Assumptions (``assume=["beta_t < 0.02"]``) narrow the domain of one symbol; a true
answer under assumptions is checked again without them, and if it is false there the
result says so (the identity holds only under the assumption).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from ..domains import Domain
from ..symbolic.engine import N_POINTS, Derivation, Part, Relation, Status, Step
from ..symbolic.notation import DEFINITIONS
from .assume import Assumption, parse_assumption
from .names import DEFINABLE, QUANTITIES
from .parse import ParsedRelation, ParseError, parse_relation
from .witness import readable_counterexample

__all__ = ["Verdict", "CheckResult", "check", "identity_derivation"]


class Verdict(str, enum.Enum):
    TRUE = "true"
    FALSE = "false"
    UNDECIDED = "could not decide"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class CheckResult:
    """The answer to one check, with the evidence."""

    text: str
    verdict: Verdict
    lhs: sp.Expr
    op: str
    rhs: sp.Expr
    reason: str = ""
    #: for FALSE: the point (symbol -> value) and both sides' values there
    counterexample: Mapping[str, str] | None = None
    lhs_value: str = ""
    rhs_value: str = ""
    method: str = ""
    assumptions: tuple[str, ...] = ()
    defined: tuple[str, ...] = ()
    domains: Mapping[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    #: for TRUE under assumptions: the answer without them, when that one is FALSE
    without_assumptions: CheckResult | None = None

    def __bool__(self) -> bool:
        return self.verdict is Verdict.TRUE

    def explain(self) -> str:
        """The answer in words, as the command line prints it."""
        head = f"{self.verdict.value}: {self.text.strip()}"
        lines = [head]
        if self.assumptions:
            lines.append(f"  assuming {', '.join(self.assumptions)}")
        if self.defined:
            lines.append(f"  with the definitions of {', '.join(self.defined)} written out")
        if self.verdict is Verdict.TRUE:
            lines.append(f"  checked by {self.method} (symbolic to exactly 0, and 50 digits "
                         "at random points of the domains)")
            w = self.without_assumptions
            if w is not None and w.verdict is Verdict.FALSE:
                lines.append(f"  holds only under {', '.join(self.assumptions)}: false without "
                             f"it, at {_point(w.counterexample)}: left = {w.lhs_value}, "
                             f"right = {w.rhs_value}")
        elif self.verdict is Verdict.FALSE:
            lines.append(f"  counterexample: {_point(self.counterexample)}")
            lines.append(f"  left-hand side  = {self.lhs_value}")
            lines.append(f"  right-hand side = {self.rhs_value}")
        else:
            lines.append(f"  reason: {self.reason}")
        lines.append("  domains: " + ", ".join(f"{k} in {v}" for k, v in self.domains.items()))
        return "\n".join(lines)


def _point(p: Mapping[str, str] | None) -> str:
    return ", ".join(f"{k} = {v}" for k, v in (p or {}).items()) or "(no free symbols)"


_REL = {"=": Relation.EQ, "<=": Relation.LE, ">=": Relation.GE}


def identity_derivation(rel: ParsedRelation, definitions: Mapping[sp.Symbol, sp.Expr],
                        domains: Mapping[sp.Basic, Domain], name: str = "check") -> Derivation:
    """The one-step derivation that checks ``rel``."""
    if rel.op not in _REL:
        raise ParseError(f"strict inequality {rel.op!r}: the engine certifies ≤ and ≥ on the "
                         "whole domain; write <= or >=")
    gap = None if rel.op == "=" else (rel.rhs - rel.lhs if rel.op == "<=" else rel.lhs - rel.rhs)
    step = Step(rel.rhs, "the relation to check", relation=_REL[rel.op], gap=gap)
    part = Part(title="check", start=rel.lhs, start_rule="the left-hand side", steps=(step,))
    return Derivation(name=name, title=rel.text, statement=rel.text, parts=(part,),
                      definitions=dict(definitions), domains=dict(domains))


def _relation(identity: Any) -> ParsedRelation:
    if isinstance(identity, ParsedRelation):
        return identity
    if isinstance(identity, str):
        return parse_relation(identity)
    ops = {sp.Eq: "=", sp.Le: "<=", sp.Ge: ">=", sp.Lt: "<", sp.Gt: ">"}
    for cls, op in ops.items():
        if isinstance(identity, cls):
            return ParsedRelation(str(identity), identity.lhs, op, identity.rhs, False)
    if isinstance(identity, (sp.logic.boolalg.BooleanTrue, sp.logic.boolalg.BooleanFalse)):
        raise TypeError(f"SymPy decided the relation to {identity} before the check, from the "
                        "symbols' assumptions alone; build it with evaluate=False, or pass a "
                        "string")
    raise TypeError(f"check() takes a string 'LHS = RHS' or a SymPy Eq/Le/Ge, not "
                    f"{type(identity).__name__}")


def _definitions(define: Iterable[str]) -> dict[sp.Symbol, sp.Expr]:
    defs: dict[sp.Symbol, sp.Expr] = dict(DEFINITIONS)
    for name in define:
        if name not in DEFINABLE:
            raise ParseError(f"no definition named {name!r}; definable by name: "
                             f"{', '.join(DEFINABLE)}")
        defs[QUANTITIES[name]] = DEFINABLE[name][0]
    return defs


def check(identity: Any, *, assume: Iterable[str | Assumption] = (),
          define: Iterable[str] = (), seed: int = 0, n_points: int = N_POINTS) -> CheckResult:
    """Check ``identity`` ('LHS = RHS', 'LHS <= RHS', LaTeX, or a SymPy Eq/Le/Ge) on the
    declared domains, narrowed by ``assume``; see the module docstring."""
    rel = _relation(identity)
    assumptions = [a if isinstance(a, Assumption) else parse_assumption(a) for a in assume]
    define = tuple(define)
    result = _run(rel, assumptions, define, seed, n_points)
    if assumptions and result.verdict is Verdict.TRUE:
        without = _run(rel, [], define, seed, n_points)
        if without.verdict is Verdict.FALSE:
            result = _replace(result, without_assumptions=without)
    return result


def _replace(r: CheckResult, **kw: Any) -> CheckResult:
    from dataclasses import replace

    return replace(r, **kw)


def _run(rel: ParsedRelation, assumptions: list[Assumption], define: tuple[str, ...],
         seed: int, n_points: int) -> CheckResult:
    t0 = time.perf_counter()
    domains: dict[sp.Basic, Domain] = {}
    for a in assumptions:
        domains[a.symbol] = a.narrow(domains.get(a.symbol))
    defs = _definitions(define)
    d = identity_derivation(rel, defs, domains)
    s = d.verify(seed=seed, n_points=n_points).steps[0]
    common = dict(text=rel.text, lhs=rel.lhs, op=rel.op, rhs=rel.rhs, method=s.method,
                  assumptions=tuple(a.text for a in assumptions), defined=define,
                  domains=dict(s.domains))
    if s.status is Status.VERIFIED:
        verdict, reason, point, lv, rv = Verdict.TRUE, "", None, "", ""
    elif s.certified:
        verdict, reason = Verdict.FALSE, ""
        point, lv, rv = (readable_counterexample(d, seed)
                         or (_counterexample(d, seed, n_points) if rel.op != "="
                             else (s.counterexample, s.lhs_value, s.rhs_value)))
    else:
        verdict, point, lv, rv = Verdict.UNDECIDED, None, "", ""
        reason = s.message.split("rule: the relation to check; ", 1)[-1]
    if point:
        point = _with_defined(point, rel, defs)
    return CheckResult(verdict=verdict, reason=reason, counterexample=point, lhs_value=lv,
                       rhs_value=rv, seconds=time.perf_counter() - t0, **common)


def _with_defined(point: Mapping[str, str], rel: ParsedRelation,
                  defs: Mapping[sp.Symbol, sp.Expr]) -> dict[str, str]:
    """The point, with the value of each symbol the user wrote that the check wrote out by
    its definition (β_t = 1 − α_t at the sampled α_t)."""
    from ..symbolic.procedures import substitute_definitions

    out = dict(point)
    written = (rel.lhs.free_symbols | rel.rhs.free_symbols) & set(defs)
    env = {sp.Symbol(k, **sym.assumptions0): sp.Float(v, 30)
           for k, v in point.items() for sym in [QUANTITIES.get(k, sp.Symbol(k))]}
    for sym in sorted(written, key=str):
        value = substitute_definitions(sym, defs).xreplace(
            {q: env[k] for k in env for q in [QUANTITIES.get(str(k))] if q is not None})
        if not value.free_symbols:
            out[str(sym)] = f"{sp.N(value, 6)} (by its definition)"
    return out


def _counterexample(d: Derivation, seed: int, n_points: int
                    ) -> tuple[dict[str, str], str, str]:
    """For a false inequality: the sampled point where the gap is most negative, with both
    sides' values (the engine's numeric check samples the same points)."""
    import mpmath

    from ..symbolic.numeric_check import DPS, _FunctionTable, evaluate, free_parameters
    from ..symbolic.numeric_check import sample_points as points_of
    from ..symbolic.procedures import substitute_definitions

    step = d.parts[0].steps[0]
    lhs, rhs, gap = (substitute_definitions(sp.sympify(e), d.definitions)
                     for e in (d.parts[0].start, step.expr, step.gap))
    points = points_of(free_parameters([lhs, rhs, gap]), n_points, seed, d.domains)
    best: tuple[Any, ...] | None = None
    with mpmath.workdps(DPS):
        for k, p in enumerate(points):
            table = _FunctionTable(seed * 7919 + k)
            g = mpmath.re(evaluate(gap, p, table))
            if best is None or g < best[0]:
                best = (g, p, evaluate(lhs, p, table), evaluate(rhs, p, table))
    assert best is not None
    shown = {str(k): str(v) if isinstance(v, int) else mpmath.nstr(mpmath.mpf(v), 12)
             for k, v in best[1].items()}
    return shown, mpmath.nstr(best[2], 20), mpmath.nstr(best[3], 20)
