"""Checks for your own test suite.

* :func:`assert_identity`: one identity, in one line, must be true (or reach the verdict
  you expect), else an ``AssertionError`` with the counterexample or the reason;
* :func:`assert_derivation`: a derivation must reach its expected verdict, else an
  ``AssertionError`` naming the failing step, its rule and its counterexample;
* :func:`failure_report`: that report as text;
* the pytest plugin :mod:`ddpm_theory.testing.plugin` collects every derivation of a
  module as a test (``pytest --ddpm-derivations=my_derivations.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..identity import CheckResult, Verdict, check
from ..symbolic.engine import Derivation, DerivationError, DerivationResult, Status

__all__ = ["assert_identity", "assert_derivation", "failure_report"]


def assert_identity(identity: Any, *, assume: Iterable[str] = (), define: Iterable[str] = (),
                    expected: Verdict | str = Verdict.TRUE, seed: int = 0) -> CheckResult:
    """Check ``identity`` (see :func:`ddpm_theory.check`) and assert its verdict."""
    want = Verdict(expected)
    result = check(identity, assume=assume, define=define, seed=seed)
    if result.verdict is not want:
        raise AssertionError(f"expected {want.value}, got\n{result.explain()}")
    return result


def failure_report(result: DerivationResult) -> str:
    """Every step that did not reach its expected verdict: where it is, its rule, why,
    and the point where the two sides differ with both values."""
    lines = [f"derivation {result.name!r}: {result.status.value} "
             f"(expected {result.expected.value})"]
    for s in result.steps:
        expected = Status.REFUTED if s.claimed_false else Status.VERIFIED
        if s.status is expected:
            continue
        cite = f" {s.citation}" if s.citation else ""
        lines.append(f"  part {s.part!r}, step {s.index + 1}{cite}: {s.status.value}")
        lines.append(f"    rule: {s.rule}")
        why = s.message.split(f"rule: {s.rule}; ", 1)[-1]
        lines.append(f"    why: {why}")
        if s.counterexample:
            point = ", ".join(f"{k} = {v}" for k, v in s.counterexample.items())
            kind = "counterexample" if s.certified else "worst point (not certified)"
            lines.append(f"    {kind}: {point}")
            lines.append(f"    previous expression = {s.lhs_value}")
            lines.append(f"    this step           = {s.rhs_value}")
    return "\n".join(lines)


def assert_derivation(derivation: Derivation, seed: int = 0) -> DerivationResult:
    """Verify ``derivation``; raise :class:`~ddpm_theory.symbolic.engine.DerivationError`
    (an ``AssertionError``) with :func:`failure_report` unless it reaches its expected
    verdict (verified, or refuted for a derivation with a step claimed false)."""
    result = derivation.verify(seed=seed)
    if not result.ok:
        raise DerivationError(failure_report(result))
    return result
