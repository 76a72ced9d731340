"""The derivation engine: :class:`Derivation`, :class:`Part`, :class:`Step`.

A derivation is a list of *parts* (lemma, base case, inductive step, ...).  Each part
starts from an expression built from its premises and moves through steps; every step
states a new expression, the rule applied and its citation.  The engine checks each
step against the previous one twice, independently:

* **S0 symbolic** -- :func:`ddpm_theory.symbolic.procedures.is_zero` on the difference
  (or on its derivative, for "equal up to a constant in w"), which must be exactly 0;
* **S0-num** -- a 50-digit evaluation of both sides at ≥ 32 random points covering the
  declared domains (:mod:`ddpm_theory.symbolic.numeric_check`).

A step may be *claimed false*: a source asserts it and the engine is expected to refute
it.  It is then "refuted" when the symbolic procedure does not find zero *and* a
*certified* numeric counterexample exists (a disagreement that exceeds the error estimate
of two precisions and quadrature rules, where the quadrature converges); it is "failed"
otherwise -- a true claim marked false fails.

Modelling assumptions (the Markov property, Bayes' rule on abstract densities) are
:class:`Premise` objects of a derivation: substitutions the checks may use, listed in
every result as *assumed*, never stamped verified; a step that uses one records it.

Relations of a step to the previous expression:

* ``EQ``: equal;
* ``EQ_CONST``: equal up to an additive term constant in the symbols ``wrt``;
* ``LE``/``GE``: previous ≤ / ≥ this one, with ``gap`` = the non-negative difference,
  checked symbolically to be the difference, certified ≥ 0 on the whole domain
  (:mod:`ddpm_theory.symbolic.certificates`: structurally, by a registered lemma, or
  by the tangent-line rule) and numerically ≥ 0 at every point.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from ..domains import Domain
from .application import apply_lemma
from .certificates import (
    Apply,
    Certificate,
    TangentLine,
    certify_nonnegative,
    certify_tangent,
    expand_lemmas,
)
from .citation import Citation, citation_gaps
from .notation import DEFINITIONS
from .numeric_check import NumericComparison, compare, free_parameters, sample_points
from .procedures import Outcome, is_zero, make_lookup, substitute_definitions

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
    "Premise",
    "TangentLine",
    "Apply",
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
    #: for ``LE``/``GE``: how the gap is shown ≥ 0; None = structurally
    #: (:func:`~ddpm_theory.symbolic.certificates.certify_nonnegative`); for ``EQ``:
    #: :class:`~ddpm_theory.symbolic.certificates.Apply`, a registered lemma's instance
    certificate: TangentLine | Apply | None = None


@dataclass(frozen=True)
class Premise:
    """A modelling assumption of a derivation, used by its checks as a substitution
    (``substitutions``: symbol or function class -> expression or ``sp.Lambda``) and
    reported as *assumed*, never as verified."""

    name: str
    statement: str                       # prose or LaTeX
    substitutions: Mapping[Any, Any] = field(default_factory=dict)
    cite: Citation | None = None


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
    premises: tuple[str, ...] = ()       # LaTeX or prose: the stated premises, assumed
    #: modelling assumptions used as substitutions by the checks (reported as assumed)
    assumptions: tuple[Premise, ...] = ()
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
    def assumed(self) -> list[str]:
        """Every premise of the derivation, as text: the stated ones and the named
        modelling assumptions."""
        return list(self.premises) + [f"{a.name}: {a.statement}" for a in self.assumptions]

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
            premises=tuple(self.assumed),
            part_steps=tuple(len(p.steps) for p in self.parts),
            uncited=tuple(citation_gaps(self)),
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
    n_points: int = 0                    # points of the numeric check
    n_distinct: int = 0                  # distinct points among them
    domains: Mapping[str, str] = field(default_factory=dict)  # symbol -> interval sampled
    assumes: tuple[str, ...] = ()        # names of the premises the step used
    lemmas: tuple[str, ...] = ()         # registered lemmas the step applied
    certificate: str = ""                # how an inequality's gap was shown ≥ 0
    #: the numeric check found a certified counterexample (a disagreement stable across
    #: two precisions and quadrature rules, or a negative gap): the step is false, not
    #: merely undecided
    certified: bool = False


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
    premises: tuple[str, ...] = ()
    #: the number of steps of each part, in order
    part_steps: tuple[int, ...] = ()
    #: where a Part or Step lacks a citation (:func:`~.citation.citation_gaps`)
    uncited: tuple[str, ...] = ()

    @property
    def single_step_parts(self) -> int:
        """Parts shown in one step (the fewer, the more of the road is shown)."""
        return sum(1 for n in self.part_steps if n == 1)

    @property
    def depends_on(self) -> list[str]:
        """The registered lemmas the derivation's steps applied."""
        return sorted({name for s in self.steps for name in s.lemmas})

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
            "premises": [{"statement": p, "status": "assumed"} for p in self.premises],
            "depends_on": self.depends_on,
            "parts": len(self.part_steps),
            "single_step_parts": self.single_step_parts,
            "uncited": list(self.uncited),
            "step_results": [
                {
                    "part": s.part, "index": s.index, "rule": s.rule, "citation": s.citation,
                    "status": s.status.value, "method": s.method,
                    "seconds": round(s.seconds, 4), "claimed_false": s.claimed_false,
                    "max_rel_diff": s.max_rel_diff, "residual": s.residual,
                    "counterexample": dict(s.counterexample) if s.counterexample else None,
                    "lhs_value": s.lhs_value, "rhs_value": s.rhs_value,
                    "points": s.n_points, "distinct_points": s.n_distinct,
                    "domains": dict(s.domains), "assumes": list(s.assumes),
                    "lemmas": list(s.lemmas), "certificate": s.certificate,
                    "certified_counterexample": s.certified,
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
    _refuse_look_alikes(where, prev, step)
    substitutions = dict(d.definitions)
    for a in d.assumptions:
        substitutions.update(a.substitutions)
    assumes = tuple(a.name for a in d.assumptions if _uses(a, prev, step))

    def subst(e: Any) -> Any:
        return _map(e, lambda x: expand_lemmas(substitute_definitions(sp.sympify(x),
                                                                      substitutions)))

    lhs, rhs = subst(prev), subst(step.expr)
    diff = _difference(lhs, rhs)
    cert = Certificate(True)
    if step.relation in (Relation.LE, Relation.GE):
        if step.gap is None:
            raise ValueError(f"{where}: an inequality step needs its gap")
        gap = subst(step.gap)
        diff = diff - gap if step.relation is Relation.GE else -diff - gap
        cert = _certify_gap(d, step, substitutions)
    symbolic_target = diff
    if isinstance(step.certificate, Apply):
        if step.relation is not Relation.EQ:
            raise ValueError(f"{where}: a lemma is applied by an equality step")
        rewritten, cert = apply_lemma(step.certificate, lhs, rhs, make_lookup(d.domains))
        if rewritten is not None:  # the symbolic line: the step with S rewritten to E
            symbolic_target = _difference(*rewritten)
    if step.relation is Relation.EQ_CONST:
        diff = symbolic_target = _derivatives(where, lhs, rhs, diff, step.wrt)

    symbols = free_parameters(_flat(lhs) + _flat(rhs) + ([subst(step.gap)] if step.gap else []))
    points = sample_points(symbols, n_points, seed, d.domains, d.induction_bases)
    # The numeric check runs first: the time-boxed simplify fallback can only turn
    # "not shown zero" into "zero", so it is spent only where the numbers agree.
    try:
        if step.relation is Relation.EQ_CONST:
            num = compare(diff, sp.Tuple(*[0] * len(_flat(diff))), points, seed,
                          overrides=d.domains)
        elif step.relation is Relation.EQ:
            num = compare(lhs, rhs, points, seed, overrides=d.domains)
        else:
            num = compare(diff, sp.Integer(0), points, seed, gap=subst(step.gap),
                          overrides=d.domains)
    except Exception as exc:  # e.g. a division by zero at a sampled point
        num = NumericComparison(False, float("inf"), None,
                                f"could not evaluate ({type(exc).__name__}: {exc})", "",
                                n_points=len(points))
    try:
        outcome = is_zero(
            symbolic_target, domains=d.domains, induction_bases=d.induction_bases,
            fallback_seconds=FALLBACK_SECONDS if num.agree else 0.0,
        )
    except Exception as exc:  # a procedure that cannot run has not shown zero
        outcome = Outcome(False, ["error"], None, f"{type(exc).__name__}: {exc}")
    if not cert.ok:
        what = "apply the lemma" if isinstance(step.certificate, Apply) else (
            "decide the gap ≥ 0")
        outcome = Outcome(False, outcome.methods + ["certificate"], None,
                          f"could not {what}: {cert.reason}")
    lemma_problem = _lemma_problem(d, cert.lemmas)
    if outcome.zero and lemma_problem:
        outcome = Outcome(False, outcome.methods, None, lemma_problem)
    seconds = time.perf_counter() - t0
    status, msg = _verdict(where, step, outcome, num)
    methods = outcome.method + ("+" + "+".join(dict.fromkeys(cert.how)) if cert.how else "")
    return StepResult(
        part=part.title, index=idx, rule=step.rule, citation=cite, status=status,
        method=methods + "+mpmath50", seconds=seconds, claimed_false=step.claimed_false,
        max_rel_diff=num.max_rel, residual=None if outcome.zero else _short(outcome.residual),
        counterexample=num.worst_point if status is not Status.VERIFIED else None,
        lhs_value=num.worst_lhs, rhs_value=num.worst_rhs, message=msg,
        n_points=num.n_points, n_distinct=num.n_distinct, domains=num.domains,
        assumes=assumes, lemmas=tuple(sorted(cert.lemmas)),
        certificate=", ".join(dict.fromkeys(cert.how)),
        certified=bool(num.certified or num.gap_negative),
    )


def _verdict(where: str, step: Step, outcome: Outcome, num: NumericComparison
             ) -> tuple[Status, str]:
    if step.claimed_false:
        refuted = not outcome.zero and (num.certified or num.gap_negative)
        if refuted:
            return Status.REFUTED, f"{where}: refuted as expected"
        reason = ("the symbolic check proves it" if outcome.zero else
               "no certified counterexample was found" + (
                   f" (the sides differ by {num.max_rel:.3g} at the worst point, but not "
                   "stably across two precisions and quadrature rules)" if not num.agree
                   else ""))
        return Status.FAILED, f"{where}: claimed false but {reason} (rule: {step.rule})"
    if outcome.zero and num.agree:
        return Status.VERIFIED, f"{where}: verified"
    why: list[str] = []
    if not outcome.zero:
        why.append(f"symbolic remainder {_short(outcome.residual)} ({outcome.note})")
    if not num.agree:
        why.append(
            f"numeric disagreement {num.max_rel:.3g} at {num.worst_point}: "
            f"previous = {num.worst_lhs}, this step = {num.worst_rhs}"
            + (" (gap negative)" if num.gap_negative else "")
        )
    return Status.FAILED, f"{where} FAILED; rule: {step.rule}; " + "; ".join(why)


def _certify_gap(d: Derivation, step: Step, substitutions: Mapping[Any, Any]) -> Certificate:
    """The gap ≥ 0 on the whole domain: by the step's certificate, else structurally."""
    gap = substitute_definitions(sp.sympify(step.gap), substitutions)
    lookup = make_lookup(d.domains)
    if isinstance(step.certificate, TangentLine):
        return certify_tangent(step.certificate, expand_lemmas(gap), lookup)
    return certify_nonnegative(gap, lookup)


#: names of the derivations being verified in this thread (a lemma may not depend on them)
_IN_PROGRESS: list[str] = []


def _lemma_problem(d: Derivation, lemmas: set[str]) -> str:
    """'' when every lemma is registered, not (transitively) the derivation being
    checked, and verified; else what is wrong."""
    from . import registry

    for name in sorted(lemmas):
        if name == d.name or name in _IN_PROGRESS:
            return f"lemma {name!r} depends on the derivation being checked (a cycle)"
        try:
            lemma = registry.get(name)
        except KeyError:
            return f"lemma {name!r} is not registered"
        _IN_PROGRESS.append(d.name)
        try:
            result = lemma.verify()
        finally:
            _IN_PROGRESS.pop()
        if result.status is not Status.VERIFIED:
            return f"lemma {name!r} is not verified ({result.status.value})"
    return ""


def _derivatives(where: str, lhs: Any, rhs: Any, diff: Any, wrt: tuple) -> Any:
    """For "equal up to a constant in w": d/dw of the difference, after checking that
    each w occurs on both sides (else the derivative is 0 for nothing)."""
    if not wrt:
        raise ValueError(f"{where}: EQ_CONST needs the symbols in wrt")
    for side, e in (("previous", lhs), ("this step", rhs)):
        free = set().union(*(sp.sympify(x).free_symbols for x in _flat(e)))
        missing = [w for w in wrt if w not in free]
        if missing:
            raise ValueError(
                f"{where}: EQ_CONST with respect to {missing} but {side} does not depend "
                "on it (a look-alike symbol, or a constant claim that checks nothing)"
            )
    return sp.Tuple(*[sp.diff(e, w) for e in _flat(diff) for w in wrt])


def _refuse_look_alikes(where: str, prev: Any, step: Step) -> None:
    """Two different symbols (or function classes) of one name in one step are an error:
    they print alike but are different quantities to every check."""
    seen: dict[str, Any] = {}
    for e in (_flat(prev) + _flat(step.expr) + list(step.wrt)
              + ([step.gap] if step.gap is not None else [])):
        e = sp.sympify(e)
        atoms = e.atoms(sp.Symbol) | {type(f) for f in e.atoms(sp.core.function.AppliedUndef)}
        for a in atoms:
            if isinstance(a, sp.Dummy):
                continue
            name = a.name if isinstance(a, sp.Symbol) else a.__name__
            if name in seen and seen[name] != a:
                raise ValueError(
                    f"{where}: two different symbols named {name!r} "
                    f"({_assumptions(seen[name])} and {_assumptions(a)}); rename one"
                )
            seen[name] = a


def _assumptions(a: Any) -> str:
    if isinstance(a, sp.Symbol):
        return "{" + ", ".join(f"{k}" for k, v in sorted(a.assumptions0.items()) if v) + "}"
    return "function"


def _uses(p: Premise, prev: Any, step: Step) -> bool:
    exprs = [sp.sympify(e) for e in _flat(prev) + _flat(step.expr)]
    for key in p.substitutions:
        if isinstance(key, sp.FunctionClass):
            if any(e.atoms(key) for e in exprs):
                return True
        elif any(e.has(key) for e in exprs):
            return True
    return False


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


