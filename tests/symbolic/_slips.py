"""Shared helper for the planted-slip tests of the objective derivations."""

from __future__ import annotations

from ddpm_theory.symbolic.engine import Derivation, Status


def failed_parts(d: Derivation) -> set[str]:
    """Verify ``d``; it must FAIL (a planted slip); return the parts that failed."""
    res = d.verify()
    assert res.status is Status.FAILED, f"a planted slip was not rejected: {res.report()}"
    return {s.part for s in res.failures()}


def verified(d: Derivation, status: Status = Status.VERIFIED):
    res = d.verify()
    assert res.status is status and res.ok, res.report()
    return res
