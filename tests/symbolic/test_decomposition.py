"""Homework eqs. 4 → 5 → 8 (Ho et al. 2020, Eq. 5) verify for symbolic T, T = 2, 3 and a
Gaussian chain with T = 2;
planted slips in the telescoping and in eq. 8 are rejected."""

from __future__ import annotations

import sympy as sp
from _slips import failed_parts, verified

from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.derivations import decomposition as dec


def test_registered_and_verified():
    res = verified(registry.get(dec.NAME))
    titles = {s.part for s in res.steps}
    assert "Telescoping, symbolic T" in titles
    assert {"The whole chain, T = 2", "The whole chain, T = 3"} <= titles
    assert any("induction" in s.method for s in res.steps)
    assert "marginalisation-to-kl" in res.depends_on


def test_rejects_l1_without_the_kl_passage():
    # a plausible slip: L_1 taken as the KL at the mean x_2 = √ᾱ_2 x_0 (the expectation
    # over q(x_2|x_0) dropped) -- the lemma's instance does not match
    def wrong(L_T, L_1, L_0):
        expected_kl, x, mean, _ = L_1.args
        return L_T + expected_kl.xreplace({x: mean}) + L_0
    parts = failed_parts(dec.build(explicit=(), gaussian_slip=wrong))
    assert parts == {"Gaussian chain, T = 2: L = L_T + L_1 + L_0"}


def test_rejects_inverted_telescoping():
    wrong = sp.log(dec.q_marg(dec.T)) - sp.log(dec.q_marg(1))
    assert failed_parts(dec.build(telescoped=wrong, explicit=(), gaussian=False)) == {
        "Telescoping, symbolic T"}


def test_rejects_sum_starting_at_t1():
    def wrong(upper):
        good = dec.eq8(upper)
        return good.replace(lambda a: isinstance(a, sp.Sum),
                            lambda a: sp.Sum(a.function, (a.limits[0][0], 1, a.limits[0][2])))
    parts = failed_parts(dec.build(target=wrong, explicit=(2, 3), gaussian=False))
    assert {"Eq. 4 to eq. 8, symbolic T", "The whole chain, T = 2",
            "The whole chain, T = 3"} <= parts


def test_rejects_dropped_prior_term():
    def wrong(upper):
        return dec.eq8(upper) - sp.log(dec.q_marg(upper) / dec.p_T(dec.X[upper]))
    assert failed_parts(dec.build(target=wrong, explicit=(4,), gaussian=False))
