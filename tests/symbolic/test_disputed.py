"""The steps the sources dispute in Luo (2022): each is decided, refuted claims carry a
counterexample, and the correct statements verify (planted slips fail)."""

from __future__ import annotations

import sympy as sp
from _slips import failed_parts, verified

from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.derivations import disputed as dp
from ddpm_theory.symbolic.engine import Status
from ddpm_theory.symbolic.expectation import evaluate_expectations


def test_verdicts():
    verified(registry.get("luo-consistency-term"), Status.REFUTED)
    verified(registry.get("term-by-term-cancellation"), Status.REFUTED)
    verified(registry.get("consistency-term-corrected"))
    verified(registry.get("luo-telescoping"))


def test_refuted_steps_carry_counterexamples():
    for name in ("luo-consistency-term", "term-by-term-cancellation"):
        d = registry.get(name)
        assert d.counterexample_note
        refuted = [s for s in d.verify().steps if s.status is Status.REFUTED]
        assert refuted and all(s.counterexample for s in refuted)


def test_consistency_gap_is_c_a_b_over_w():
    d = registry.get("luo-consistency-term")
    part = d.parts[0]
    (claim,) = [s for s in part.steps if s.claimed_false]
    diff = evaluate_expectations(part.start) - evaluate_expectations(claim.expr)
    assert sp.simplify(diff - dp.c * dp._A2 * dp.b1 / dp.w) == 0


def test_corrected_rejects_missing_mutual_information():
    assert failed_parts(dp.build_corrected(mutual_info=sp.Integer(0)))


def test_corrected_rejects_inverted_mutual_information():
    assert failed_parts(dp.build_corrected(mutual_info=sp.log(dp.b2 / dp._V2) / 2))


def test_telescoping_rejects_q1_left_in():
    wrong = (sp.log(dp.q_marg(dp.T_sym)) - sp.log(dp.q_marg(1))
             + sp.Sum(sp.log(dp.q_post(dp.t, dp.X[dp.t - 1], dp.X[dp.t], dp.X[0])),
                      (dp.t, 2, dp.T_sym)))
    assert failed_parts(dp.build_telescoping(target=wrong))


def test_ratio_value_rejects_missing_half():
    wrong = sp.log(dp.c1 / (dp.a2**2 * dp.c1 + dp.c2))
    assert "What the ratio contributes" in failed_parts(dp.build_term_by_term(value=wrong))
