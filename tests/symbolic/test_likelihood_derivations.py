"""The instantaneous change of variables and the respaced chain's marginals verify;
plausible slips (a wrong divergence sign, D dropped, a naive β', a wrong
composition of the skipped steps, det for tr) are rejected."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp
from _slips import failed_parts, verified

from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.derivations import likelihood as L
from ddpm_theory.symbolic.engine import Step


@pytest.mark.parametrize("name", [L.ICOV, L.RESPACED])
def test_registered_derivations_verify(name: str) -> None:
    verified(registry.get(name))


def _div_eps() -> sp.Expr:
    # the stand-in's divergence, read off the start of the part (not typed in)
    start = L.drift_divergence_part().start
    return sp.expand((start + L.beta) * (2 * L.sigma / L.beta))  # start = -b/2 (2 - div/s)


@pytest.mark.parametrize("slip", ["D dropped", "sign of the score term"])
def test_drift_divergence_slips_are_rejected(slip: str) -> None:
    b, s = L.beta, L.sigma
    div = _div_eps()
    target = -b / 2 * (1 - div / s) if slip == "D dropped" else -b / 2 * (2 + div / s)
    assert "The divergence of the probability-flow drift" in failed_parts(
        L.build_icov(div_target=target))


def test_continuity_sign_slip_is_rejected() -> None:
    # the planted sign slip: d log p/ds = +div f
    good = L.continuity_part().steps[-1].expr
    assert "With the exact score the log-density along the flow changes at −∇·f" in \
        failed_parts(L.build_icov(continuity_target=-good))


def test_jacobi_det_for_trace_is_rejected() -> None:
    part = L.jacobi_part()
    bad = dataclasses.replace(part, steps=(Step(-(L.j11 * L.j22 - L.j12 * L.j21), "slip"),))
    d = dataclasses.replace(registry.get(L.ICOV), parts=(bad,))
    assert failed_parts(d) == {part.title}


def test_naive_beta_prime_is_rejected() -> None:
    # keeping the parent's cumulative value instead of the ratio
    fails = failed_parts(L.build_respaced(bp=lambda now, before: 1 - now))
    assert {L.telescoping_part().title, L.induction_part().title} <= fails


def test_wrong_composition_is_rejected() -> None:
    wrong = (1 - L.al1) + (1 - L.al2)  # variances added without the scaling by alpha_q
    assert failed_parts(L.build_respaced(composition_target=wrong)) == {
        L.composition_part().title}
