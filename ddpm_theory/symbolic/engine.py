"""The derivation engine: :class:`Derivation`, :class:`Part`, :class:`Step`.

A derivation is a list of *parts* (lemma, base case, inductive step, ...).  Each part
starts from an expression built from its premises and moves through steps; every step
states a new expression, the rule applied and its citation.  The engine checks each
step against the previous one twice, independently:

* **S0 symbolic** -- :func:`ddpm_theory.symbolic.procedures.is_zero` on the difference
  (or on its derivative, for "equal up to a constant in w"), which must be exactly 0;
* **S0-num** -- a 50-digit evaluation of both sides at ≥ 32 random points of the
  declared domains (:mod:`ddpm_theory.symbolic.numeric_check`).

A step may be *claimed false*: a source asserts it and the engine is expected to refute
it.  It is then "refuted" when the symbolic procedure does not find zero *and* a numeric
counterexample exists; it is "failed" if the claim turns out true.

Relations of a step to the previous expression:

* ``EQ``: equal;
* ``EQ_CONST``: equal up to an additive term constant in the symbols ``wrt``;
* ``LE``/``GE``: previous ≤ / ≥ this one, with ``gap`` = the non-negative difference,
  shown ≥ 0 by the step's reason, checked symbolically to be the difference and
  numerically to be ≥ 0.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from ..domains import Domain
from .citation import Citation
from .notation import DEFINITIONS
from .numeric_check import NumericComparison, compare, free_parameters, sample_points
from .procedures import Outcome, is_zero, substitute_definitions

__all__ = [
    "Relation",
    "Status",
    "Step",
    "Part",
    "Derivation",
    "StepResult",
    "DerivationResult",
    "DerivationError",
    "Citation",
]

#: random points of the numeric check per step (docs/verification.md: at least 32)
N_POINTS = 32
#: time box of the simplify fallback (seconds), used only where the numbers agree
FALLBACK_SECONDS = 5.0


class Relation(enum.Enum):
    EQ = "="
    EQ_CONST = "=_c"
    LE = "<="
    GE = ">="


class Status(str, enum.Enum):
    VERIFIED = "verified"
    REFUTED = "refuted"
    FAILED = "failed"


@dataclass(frozen=True)
class Step:
    """One step: ``expr`` follows from the previous expression by ``rule``.

    Parameters
    ----------
    expr : sympy expression, Tuple or Matrix (compared elementwise)
    rule : what was done, in words
    cite : where the step (or the claim it checks) comes from
    relation : how ``expr`` relates to the previous expression
    wrt : for ``EQ_CONST``, the symbols the dropped term does not depend on
    gap : for ``LE``/``GE``, the non-negative difference |previous − expr|
    claimed_false : the step is a claim some source makes that the engine must refute
    latex : optional LaTeX for display when the SymPy rendering would be unreadable
    """

    expr: Any
    rule: str
    cite: Citation | None = None
    relation: Relation = Relation.EQ
    wrt: tuple[sp.Symbol, ...] = ()
    gap: Any = None
    claimed_false: bool = False
    latex: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Part:
    """A chain of steps starting from ``start`` (justified by ``start_rule``)."""

    title: str
    start: Any
    start_rule: str
    steps: tuple[Step, ...]
    cite: Citation | None = None
    lhs: str | None = None  # LaTeX for what the chain computes, e.g. r"\log q(x_t|x_0)"
    start_latex: str | None = None


@dataclass(frozen=True)
class Derivation:
    """A registered identity, derived step by step from its premises."""

    name: str
    title: str
    statement: str                       # LaTeX
    parts: tuple[Part, ...]
    premises: tuple[str, ...] = ()       # LaTeX or prose
    cites: tuple[Citation, ...] = ()
    summary: str = ""
    definitions: Mapping[sp.Symbol, sp.Expr] = field(default_factory=lambda: dict(DEFINITIONS))
    domains: Mapping[sp.Basic, Domain] = field(default_factory=dict)
    induction_bases: Mapping[sp.Symbol, int] = field(default_factory=dict)
    #: closed forms this derivation establishes, for the numeric layer (lambdify)
    exports: Mapping[str, sp.Expr] = field(default_factory=dict)
    #: counterexample data shown beside a refuted claim (plain strings)
    counterexample_note: str = ""

    @property
    def steps(self) -> list[tuple[Part, int, Step]]:
        return [(p, i, s) for p in self.parts for i, s in enumerate(p.steps)]

    @property
    def expected_status(self) -> Status:
        return Status.REFUTED if any(s.claimed_false for _, _, s in self.steps) else (
            Status.VERIFIED
        )

    @property
    def citations(self) -> list[str]:
        seen = [str(c) for c in self.cites]
        seen += [str(p.cite) for p in self.parts if p.cite]
        seen += [str(s.cite) for _, _, s in self.steps if s.cite]
        return list(dict.fromkeys(seen))

    def verify(self, seed: int = 0, n_points: int = N_POINTS) -> DerivationResult:
        """Check every step; never raises for a failing step (see ``raise_for_status``)."""
        t0 = time.perf_counter()
        results = []
        for k, (part, idx, step) in enumerate(self.steps):
            prev = part.start if idx == 0 else part.steps[idx - 1].expr
            results.append(_check_step(self, part, idx, prev, step, seed + 7919 * k, n_points))
        statuses = {r.status for r in results}
        if Status.FAILED in statuses or not results:
            status = Status.FAILED
        elif Status.REFUTED in statuses:
            status = Status.REFUTED
        else:
            status = Status.VERIFIED
        return DerivationResult(
            name=self.name,
            title=self.title,
            status=status,
            expected=self.expected_status,
            steps=tuple(results),
            seconds=time.perf_counter() - t0,
            citations=tuple(self.citations),
        )


@dataclass(frozen=True)
class StepResult:
    part: str
    index: int
    rule: str
    citation: str
    status: Status
    method: str
    seconds: float
    claimed_false: bool
    max_rel_diff: float
    residual: str | None = None
    counterexample: Mapping[str, str] | None = None
    lhs_value: str = ""
    rhs_value: str = ""
    message: str = ""


class DerivationError(AssertionError):
    """A derivation did not reach its expected verdict."""


@dataclass(frozen=True)
class DerivationResult:
    name: str
    title: str
    status: Status
    expected: Status
    steps: tuple[StepResult, ...]
    seconds: float
    citations: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.status == self.expected

    @property
    def methods(self) -> list[str]:
        return sorted({m for s in self.steps for m in s.method.split("+")})

    def failures(self) -> list[StepResult]:
        return [s for s in self.steps if s.status == Status.FAILED]

    def report(self) -> str:
        lines = [f"derivation {self.name!r}: {self.status.value} (expected {self.expected.value})"]
        lines += [s.message for s in self.failures()]
        return "\n".join(lines)

    def raise_for_status(self) -> DerivationResult:
        if not self.ok:
            raise DerivationError(self.report())
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status.value,
            "expected": self.expected.value,
            "ok": self.ok,
            "steps": len(self.steps),
            "seconds": round(self.seconds, 4),
            "methods": self.methods,
            "citations": list(self.citations),
            "step_results": [
                {
                    "part": s.part, "index": s.index, "rule": s.rule, "citation": s.citation,
                    "status": s.status.value, "method": s.method,
                    "seconds": round(s.seconds, 4), "claimed_false": s.claimed_false,
                    "max_rel_diff": s.max_rel_diff, "residual": s.residual,
                    "counterexample": dict(s.counterexample) if s.counterexample else None,
                    "lhs_value": s.lhs_value, "rhs_value": s.rhs_value,
                }
                for s in self.steps
            ],
        }


def _difference(prev: Any, cur: Any) -> Any:
    if isinstance(prev, sp.MatrixBase) or isinstance(cur, sp.MatrixBase):
        return sp.Matrix(prev) - sp.Matrix(cur)
    if isinstance(prev, (tuple, sp.Tuple)):
        if len(prev) != len(cur):
            raise ValueError("tuple steps must keep their length")
        return sp.Tuple(*[a - b for a, b in zip(prev, cur)])
    return sp.sympify(prev) - sp.sympify(cur)


def _check_step(
    d: Derivation, part: Part, idx: int, prev: Any, step: Step, seed: int, n_points: int
) -> StepResult:
    t0 = time.perf_counter()
    cite = str(step.cite) if step.cite else ""
    where = f"derivation {d.name!r}, part {part.title!r}, step {idx + 1} {cite}".rstrip()
    subst = lambda e: _map(e, lambda x: substitute_definitions(sp.sympify(x), d.definitions))  # noqa: E731
    lhs, rhs = subst(prev), subst(step.expr)
    diff = _difference(lhs, rhs)
    if step.relation in (Relation.LE, Relation.GE):
        if step.gap is None:
            raise ValueError(f"{where}: an inequality step needs its gap")
        gap = subst(step.gap)
        diff = diff - gap if step.relation is Relation.GE else -diff - gap
    if step.relation is Relation.EQ_CONST:
        if not step.wrt:
            raise ValueError(f"{where}: EQ_CONST needs the symbols in wrt")
        diff = sp.Tuple(*[sp.diff(e, w) for e in _flat(diff) for w in step.wrt])

    symbols = free_parameters(_flat(lhs) + _flat(rhs) + ([subst(step.gap)] if step.gap else []))
    points = sample_points(symbols, n_points, seed, d.domains, d.induction_bases)
    # The numeric check runs first: the time-boxed simplify fallback can only turn
    # "not shown zero" into "zero", so it is spent only where the numbers agree.
    try:
        if step.relation is Relation.EQ_CONST:
            num = compare(diff, sp.Tuple(*[0] * len(_flat(diff))), points, seed)
        elif step.relation is Relation.EQ:
            num = compare(lhs, rhs, points, seed)
        else:
            num = compare(diff, sp.Integer(0), points, seed, gap=subst(step.gap))
    except Exception as exc:  # e.g. a division by zero at a sampled point
        num = NumericComparison(False, float("inf"), None,
                                f"could not evaluate ({type(exc).__name__}: {exc})", "")
    try:
        outcome = is_zero(
            diff, points=points, induction_bases=d.induction_bases,
            fallback_seconds=FALLBACK_SECONDS if num.agree else 0.0,
        )
    except Exception as exc:  # a procedure that cannot run has not shown zero
        outcome = Outcome(False, ["error"], None, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - t0
    residual = None if outcome.zero else _short(outcome.residual)

    if step.claimed_false:
        if outcome.zero or num.agree:
            status, msg = Status.FAILED, (
                f"{where}: claimed false but "
                + ("the symbolic check proves it" if outcome.zero else
                   "no counterexample was found")
                + f" (rule: {step.rule})"
            )
        else:
            status, msg = Status.REFUTED, f"{where}: refuted as expected"
    elif outcome.zero and num.agree:
        status, msg = Status.VERIFIED, f"{where}: verified"
    else:
        why = []
        if not outcome.zero:
            why.append(f"symbolic remainder {residual} ({outcome.note})")
        if not num.agree:
            why.append(
                f"numeric disagreement {num.max_rel:.3g} at {num.worst_point}: "
                f"previous = {num.worst_lhs}, this step = {num.worst_rhs}"
                + (" (gap negative)" if num.gap_negative else "")
            )
        status = Status.FAILED
        msg = f"{where} FAILED; rule: {step.rule}; " + "; ".join(why)
    return StepResult(
        part=part.title, index=idx, rule=step.rule, citation=cite, status=status,
        method=outcome.method + "+mpmath50", seconds=seconds, claimed_false=step.claimed_false,
        max_rel_diff=num.max_rel, residual=residual,
        counterexample=num.worst_point if status is not Status.VERIFIED else None,
        lhs_value=num.worst_lhs, rhs_value=num.worst_rhs, message=msg,
    )


def _map(e: Any, f: Callable[[Any], Any]) -> Any:
    if isinstance(e, sp.MatrixBase):
        return e.applyfunc(f)
    if isinstance(e, (tuple, sp.Tuple)):
        return sp.Tuple(*[_map(x, f) for x in e])
    return f(e)


def _flat(e: Any) -> list[Any]:
    if isinstance(e, sp.MatrixBase):
        return list(e)
    if isinstance(e, (tuple, sp.Tuple, list)):
        return [y for x in e for y in _flat(x)]
    return [e]


def _short(e: Any, limit: int = 300) -> str:
    s = str(e)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def chain(title: str, start: Any, start_rule: str, *steps: Step, **kw: Any) -> Part:
    """Shorthand for :class:`Part` with positional steps."""
    return Part(title=title, start=start, start_rule=start_rule, steps=tuple(steps), **kw)


