"""The derivations beyond the sources verify, and the plausible slip a person makes in
each is rejected: DDIM's variance with the wrong ᾱ or without σ², its sampler with
ᾱ_t for ᾱ_{t−1} or a missing square root; the probability flow with the reverse SDE's
full g², a forgotten 1 − ᾱ or the sign of −∇·v; the strided chain with a missing ½ or the
wrong end; the continuous-time remainder with a sharper constant or rate than holds, or
claimed ≤ 0; VDM's invariance with a path-dependent answer; the decoder's partition with
a closed highest bin."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp
from _slips import failed_parts, verified

from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.derivations import continuous_remainder as CR
from ddpm_theory.symbolic.derivations import ddim as D
from ddpm_theory.symbolic.derivations import end_terms as ET
from ddpm_theory.symbolic.derivations import probability_flow as PF
from ddpm_theory.symbolic.derivations import strided as S
from ddpm_theory.symbolic.derivations import vdm_invariance as V
from ddpm_theory.symbolic.engine import Derivation, Part, Relation, Step
from ddpm_theory.symbolic.notation import alpha, alpha_bar, alpha_bar_prev, beta, eps_theta, xt

NEW = [D.MARGINALS, D.SAMPLER, PF.NAME, S.NAME, CR.NAME, V.NAME]


@pytest.mark.parametrize("name", NEW)
def test_registered_and_verified(name: str) -> None:
    res = verified(registry.get(name))
    assert all(s.citation for s in res.steps), "every step carries its citation"


def _only(d: Derivation, *parts: Part) -> Derivation:
    """``d`` reduced to the parts under test (the slip is in one of them)."""
    return dataclasses.replace(d, parts=parts)


# -- DDIM ----------------------------------------------------------------------------------
@pytest.mark.parametrize("wrong", [1 - alpha_bar,                          # ᾱ_t for ᾱ_{t−1}
                                   (1 - D.rho) * (1 - alpha_bar_prev)],    # σ_t² forgotten
                         ids=["alpha_bar_t", "no-sigma2"])
def test_ddim_marginal_slips_are_rejected(wrong: sp.Expr) -> None:
    d = D.build_marginals(var_target=wrong)
    assert failed_parts(d) == {D.cf_part().title, D.moments_part().title}


def test_ddim_posterior_with_alpha_bar_t_is_rejected() -> None:
    good = D.posterior_part().steps[-1].expr
    wrong = good.xreplace({alpha_bar_prev: alpha_bar})  # ᾱ_t where ᾱ_{t−1} belongs
    part = D.posterior_part(target=wrong)
    assert failed_parts(_only(registry.get(D.SAMPLER), part)) == {part.title}


def test_ddpm_step_without_the_square_root_is_rejected() -> None:
    wrong = (xt - beta / sp.sqrt(1 - alpha_bar) * eps_theta) / alpha  # √α_t dropped
    part = D.ddpm_step_part(target=wrong)
    assert failed_parts(_only(registry.get(D.SAMPLER), part)) == {part.title}


def test_ddim_ode_form_with_swapped_ratios_is_rejected() -> None:
    def ratio(ab):
        return sp.sqrt((1 - ab) / ab)

    wrong = xt / sp.sqrt(alpha_bar) + (ratio(alpha_bar) - ratio(alpha_bar_prev)) * eps_theta
    part = D.deterministic_part(target=wrong)
    assert failed_parts(_only(registry.get(D.SAMPLER), part)) == {part.title}


# -- probability flow ---------------------------------------------------------------------
def test_reverse_sde_drift_is_not_the_probability_flow() -> None:
    """With the full g² (the reverse SDE's drift) the marginal does not solve the
    continuity equation: the ODE would not have the forward marginals."""
    part = PF._canonical(PF.pde_part(PF.velocity(sp.Integer(1))))
    assert failed_parts(_only(registry.get(PF.NAME), part)) == {part.title}


def test_velocity_without_the_half_is_rejected() -> None:
    wrong = PF.BETA * ((1 / PF.VAR - 1) * PF.x - PF.MEAN / PF.VAR)
    part = PF._canonical(PF.velocity_part(wrong))
    assert failed_parts(_only(registry.get(PF.NAME), part)) == {part.title}


def test_pushforward_with_a_forgotten_one_minus_alpha_bar_is_rejected() -> None:
    part = PF._canonical(PF.pushforward_part(PF.ALPHA_BAR * PF.s2))
    assert failed_parts(_only(registry.get(PF.NAME), part)) == {part.title}


def test_log_density_rate_with_the_wrong_sign_is_rejected() -> None:
    good = PF.icov_part().steps[-1].expr
    part = PF._canonical(PF.icov_part(-good))
    assert failed_parts(_only(registry.get(PF.NAME), part)) == {part.title}


# -- strided chain ------------------------------------------------------------------------
def test_strided_weight_without_the_half_is_rejected() -> None:
    part = S.transition_part(S.snr(S.ab_p) - S.snr(S.ab_i))
    assert failed_parts(_only(registry.get(S.NAME), part)) == {part.title}


def test_strided_posterior_variance_with_swapped_ends_is_rejected() -> None:
    wrong = (1 - S.ab_i) * (S.ab_p - S.ab_i) / (S.ab_p * (1 - S.ab_p))
    part = S.posterior_part(wrong)
    assert failed_parts(_only(registry.get(S.NAME), part)) == {part.title}


def test_strided_telescoping_to_the_wrong_end_is_rejected() -> None:
    part = S.telescoping_part((S.SNR_TAU[1] - S.SNR_TAU[S.K - 1]) / 2)
    assert failed_parts(_only(registry.get(S.NAME), part)) == {part.title}


def test_strided_prior_with_the_last_kept_but_one_is_rejected() -> None:
    good = S.prior_part().steps[-1].expr
    a1, a2, aT = S.abs3
    part = S.prior_part(good.xreplace({aT: a2}))
    assert failed_parts(_only(registry.get(S.NAME), part)) == {part.title}


# -- the continuous-time remainder --------------------------------------------------------
@pytest.mark.parametrize("upper", [CR.h * CR.SUP * CR.INCREMENT / 4,        # a sharper constant
                                   CR.h**2 * CR.SUP * CR.INCREMENT / 2],    # a faster rate
                         ids=["quarter", "h-squared"])
def test_a_sharper_bound_than_holds_is_rejected(upper: sp.Expr) -> None:
    part = CR.interval_part(upper)
    assert failed_parts(_only(registry.get(CR.NAME), part)) == {part.title}


def test_a_non_positive_remainder_is_rejected() -> None:
    """Claiming the discrete bound lies *below* its limit (r ≤ 0): the stated gap −r is
    not certified non-negative, and it is negative at the sampled points."""
    good = CR.lower_part()
    r = good.start
    bad = dataclasses.replace(good, steps=(Step(sp.Integer(0), "slip", good.steps[0].cite,
                                                relation=Relation.LE, gap=-r),))
    assert failed_parts(_only(registry.get(CR.NAME), bad)) == {bad.title}


def test_telescoping_from_the_wrong_start_is_rejected() -> None:
    part = CR.sum_part(CR.h * CR.SUP * (CR.E_AT[CR.n] - CR.E_AT[1]) / 2)
    assert failed_parts(_only(registry.get(CR.NAME), part)) == {part.title}


# -- VDM ----------------------------------------------------------------------------------
def test_a_path_dependent_closed_form_is_rejected() -> None:
    good = V.change_of_variables_part().steps[-1].expr
    wrong = good.xreplace({V.delta: V.delta * (1 + V.lam)})  # an end that moves with λ
    part = V.change_of_variables_part(wrong)
    assert failed_parts(_only(registry.get(V.NAME), part)) == {part.title}


def test_rescaled_variance_with_alpha_left_in_is_rejected() -> None:
    part = V.rescaled_part(V.alpha_v**2 / V.snr_v)
    assert failed_parts(_only(registry.get(V.NAME), part)) == {part.title}


# -- the decoder's partition --------------------------------------------------------------
def test_a_closed_highest_bin_does_not_partition_the_line() -> None:
    def P(e):
        return ET.Phi((e - ET.mu) / ET.s1)

    closed = P(ET.EDGE[ET.n_edges + 1]) - P(ET.EDGE[ET.n_edges])  # [e_n, e_{n+1}], not +∞
    assert "The bins partition the line, for any number of bins" in failed_parts(
        ET.build_decoder(highest_bin=closed))
