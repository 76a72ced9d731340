"""The MLE view (DDPM notes, Part 2, Appendix) verifies; slips are rejected."""

from __future__ import annotations

from _slips import failed_parts, verified

from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.derivations import bound, mle
from ddpm_theory.symbolic.derivations.kl import kl_univariate
from ddpm_theory.symbolic.engine import Relation


def test_registered_and_verified():
    res = verified(registry.get(mle.NAME))
    assert len(res.steps) >= 5
    assert sum(s.relation is Relation.GE for _, _, s in registry.get(mle.NAME).steps) == 2


def test_rejects_marginal_with_decoder_variance_only():
    # p_θ(x_0) = N(0, s²) forgets the c² x_1 contribution
    wrong = kl_univariate(bound.m_data, bound.v_data, 0, bound.s2_dec)
    parts = failed_parts(mle.build(marginal_kl=wrong))
    assert "Worked instance: the joint KL bounds the marginal KL" in parts


def test_rejects_reversed_kl():
    wrong = kl_univariate(0, bound.c_dec**2 + bound.s2_dec, bound.m_data, bound.v_data)
    assert failed_parts(mle.build(marginal_kl=wrong))
