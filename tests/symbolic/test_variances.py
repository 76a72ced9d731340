"""The optimal reverse variance (Ho et al. 2020, §3.2) and its limits verify; slips fail."""

from __future__ import annotations

import sympy as sp
from _slips import failed_parts, verified

from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.derivations import variances as var
from ddpm_theory.symbolic.notation import alpha, alpha_bar, alpha_bar_prev, beta


def test_registered_and_verified():
    res = verified(registry.get(var.NAME))
    assert {s.part for s in res.steps} >= {"Data x_0 ~ N(0, I): σ*² = β_t",
                                           "A point mass x_0 = 0 (s² → 0): σ*² = β̃_t"}


def test_rejects_alpha_bar_t_for_previous():
    wrong = beta * (alpha_bar * var.s2 + 1 - alpha_bar) / var.V_T   # ᾱ_t for ᾱ_{t−1}: gives β_t
    assert "A point mass x_0 = 0 (s² → 0): σ*² = β̃_t" in failed_parts(var.build(sigma_star=wrong))


def test_rejects_inverted_ratio():
    assert failed_parts(var.build(sigma_star=beta * var.V_T / var.V_PREV))


def test_rejects_missing_sqrt_in_regression():
    assert failed_parts(var.build(coef=alpha * var.V_PREV / var.V_T)) == {
        "The Bayes-optimal mean: a regression on x_t"}


def test_optimum_lies_between_the_two_choices():
    f = sp.lambdify([var.s2, alpha, alpha_bar_prev], var.SIGMA_STAR.xreplace(
        {beta: 1 - alpha, alpha_bar: alpha_bar_prev * alpha}))
    bt = lambda a, ab: (1 - ab) / (1 - ab * a) * (1 - a)  # noqa: E731  β̃_t
    for s2 in (0.1, 0.5, 0.9):
        v = f(s2, 0.9, 0.5)
        assert bt(0.9, 0.5) < v < 1 - 0.9
