"""The variational bound, the VAE ELBO and the cross-entropy identity verify, and each
rejects a planted slip (docs/verification.md rule 4)."""

from __future__ import annotations

import pytest
import sympy as sp
from _slips import failed_parts, verified

from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.derivations import bound
from ddpm_theory.symbolic.derivations.kl import kl_univariate
from ddpm_theory.symbolic.engine import Relation
from ddpm_theory.symbolic.notation import alpha, beta, m1, m2, v1, v2, x0


@pytest.mark.parametrize("name", ["elbo-gap", "vae-elbo", "cross-entropy"])
def test_registered_and_verified(name):
    res = verified(registry.get(name))
    assert any(s.method.startswith(("log", "moments", "induction")) for s in res.steps)


def test_bound_has_an_inequality_with_a_gap():
    d = registry.get("elbo-gap")
    ineq = [s for _, _, s in d.steps if s.relation is Relation.LE]
    assert len(ineq) == 1 and ineq[0].gap is not None


def test_elbo_gap_rejects_wrong_posterior_variance():
    # the gap with the decoder's variance s² in place of the posterior's s²/(c² + s²)
    c, s2 = bound.c_dec, bound.s2_dec
    wrong = kl_univariate(sp.sqrt(alpha) * x0, beta, c * x0 / (c**2 + s2), s2)
    assert failed_parts(bound.build_elbo_gap(kl_gap=wrong)) == {
        "Worked instance: T = 1, Gaussian data; the expected bound"}


def test_elbo_gap_rejects_missing_half():
    c, s2 = bound.c_dec, bound.s2_dec
    right = kl_univariate(sp.sqrt(alpha) * x0, beta, c * x0 / (c**2 + s2), s2 / (c**2 + s2))
    assert failed_parts(bound.build_elbo_gap(kl_gap=2 * right))


def test_vae_rejects_sign_slip_in_prior_kl():
    wrong = (sp.log(bound.s_enc) + bound.s_enc + bound.m_enc**2 - 1) / 2   # log sign flipped
    assert failed_parts(bound.build_vae(kl_prior_target=wrong)) == {
        "Worked instance: linear-Gaussian VAE, arbitrary Gaussian encoder"}


def test_cross_entropy_rejects_missing_mean_term():
    wrong = sp.log(2 * sp.pi * v2) / 2 + v1 / (2 * v2)
    assert failed_parts(bound.build_cross_entropy(gaussian_ce=wrong))


def test_cross_entropy_gap_is_zero_at_q_equal_p():
    assert sp.simplify(kl_univariate(m1, v1, m2, v2).subs({m2: m1, v2: v1})) == 0
