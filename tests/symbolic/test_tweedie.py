"""Tweedie's formula and the score (Efron 2011) verify; planted slips are rejected."""

from __future__ import annotations

import sympy as sp
from _slips import failed_parts, verified

from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.derivations import tweedie as tw
from ddpm_theory.symbolic.notation import xt


def test_registered_and_verified():
    res = verified(registry.get(tw.NAME))
    assert any("moments" in s.method for s in res.steps)


def test_rejects_missing_sqrt_in_posterior_mean():
    wrong = tw.m + tw.ab * tw.s2 * (xt - sp.sqrt(tw.ab) * tw.m) / tw.marg_var(tw.s2)
    assert failed_parts(tw.build(gauss_target=wrong)) == {"Tweedie for Gaussian data"}


def test_rejects_prior_variance_for_marginal():
    wrong = tw.m + sp.sqrt(tw.ab) * tw.s2 * (xt - sp.sqrt(tw.ab) * tw.m)   # forgot / V_t
    assert failed_parts(tw.build(gauss_target=wrong))


def test_rejects_wrong_minimal_error():
    wrong = (1 - tw.ab) / tw.marg_var(tw.s2)    # Var[E[ε|x_t]] instead of Var[ε|x_t]
    assert failed_parts(tw.build(eps_min=wrong)) == {"The best ε-predictor for Gaussian data"}
