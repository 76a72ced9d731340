"""The score-based derivations (Tweedie for any law, the score–ε equivalence, Analytic-DPM,
denoising score matching, guidance) reach their verdicts; the plausible slips are rejected."""

from __future__ import annotations

import sympy as sp
from _slips import failed_parts, verified

from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.derivations import _law
from ddpm_theory.symbolic.derivations import analytic_dpm as adpm
from ddpm_theory.symbolic.derivations import eps_predictor as ep
from ddpm_theory.symbolic.derivations import guidance as gd
from ddpm_theory.symbolic.derivations import score_matching as sm
from ddpm_theory.symbolic.derivations import tweedie_law as tl
from ddpm_theory.symbolic.engine import Status
from ddpm_theory.symbolic.notation import alpha, alpha_bar, beta, xt

ab = _law.ab
L3 = _law.LAW3


def test_tweedie_any_law_verifies_by_induction_on_K():
    res = verified(registry.get(tl.NAME))
    assert any("induction" in s.method for s in res.steps)
    assert any("Bayes' rule" in s.assumes for s in res.steps)


def test_tweedie_rejects_the_kernel_derivative_without_its_sign():
    wrong = (xt - sp.sqrt(ab) * _law.A[_law.k]) / (1 - ab)   # +(x_t − √ᾱ a_k)/(1 − ᾱ_t)
    assert failed_parts(tl.build(kernel_step=wrong)) == {
        "Tweedie's formula, any finitely supported law"}


def test_tweedie_rejects_missing_division():
    wrong = sp.sqrt(ab) * _law.posterior_mean(lambda a: a)    # √ᾱ_t E[x_0|x_t]
    assert failed_parts(tl.build(tweedie_target=wrong)) == {
        "Tweedie's formula, any finitely supported law"}


def test_score_eps_verifies():
    verified(registry.get(ep.NAME))


def test_score_eps_rejects_the_sign_slip():
    wrong = sp.sqrt(1 - ab) * L3.score()         # + instead of −
    assert failed_parts(ep.build(noise_target=wrong)) == {"E[ε|x_t] is a scaled score"}


def test_score_eps_rejects_the_second_moment_as_minimum():
    wrong = ep.v_post + ep.c_post**2             # E[ε²|x_t] instead of Var[ε|x_t]
    assert failed_parts(ep.build(minimum=wrong)) == {"The minimiser is E[ε|x_t]"}


def test_analytic_dpm_verifies():
    verified(registry.get(adpm.NAME))


def test_analytic_dpm_rejects_dropped_noise_factor():
    wrong = adpm.BETA_TILDE + adpm.GAIN * (1 - adpm.J)       # forgot β̄_t = 1 − ᾱ_t
    assert failed_parts(adpm.build(theorem_target=wrong)) == {
        "Averaged over x_t: Bao et al.'s Theorem 1"}


def test_analytic_dpm_rejects_gain_without_alpha():
    wrong = beta**2 / (1 - alpha_bar)            # β_t²/(1 − ᾱ_t): α_t forgotten
    assert "E[(μ̃_t − μ*)²|x_t] through the score" in failed_parts(adpm.build(gain=wrong))


def test_analytic_dpm_rejects_beta_tilde_for_gaussian_data():
    assert failed_parts(adpm.build(gaussian_target=adpm.BETA_TILDE)) == {
        "Gaussian data: the answer of optimal-reverse-variance"}


def test_dsm_verifies():
    res = verified(registry.get(sm.NAME))
    assert any("moments" in s.method for s in res.steps)


def test_dsm_rejects_a_model_dependent_remainder():
    wrong = 2 * (sm.s_val - L3.score()) ** 2     # the remainder would depend on s_θ
    assert failed_parts(sm.build(vincent_end=wrong)) == {
        "Denoising score matching at each x_t, a law with three atoms"}


def test_esm_rejects_the_sign_of_the_derivative_term():
    model = sm.P[0] + sm.P[1] * sm.y + sm.P[2] * sm.y**2
    gauss = lambda f: sm.GaussE(f, sm.y, sm.m, sm.v)  # noqa: E731
    wrong = gauss(model**2) - 2 * gauss(sp.diff(model, sm.y))
    assert failed_parts(sm.build(hyvarinen_end=wrong)) == {
        "Explicit score matching by parts (Gaussian data, quadratic model)"}


def test_guidance_verifies():
    verified(registry.get("classifier-guidance"))


def test_guidance_rejects_the_sign_of_the_classifier_term():
    wrong = L3.score() - gd.classifier_score()
    assert failed_parts(gd.build_guidance(gradient_target=wrong)) == {
        "The gradients on a noisy class-conditional mixture"}


def test_cfg_rejects_the_wrong_power_of_the_marginal():
    ratio = gd.W[1] * gd.kernel(gd.A[1]) / L3.marginal()
    wrong = sp.diff(sp.log(L3.marginal() ** (1 - gd.gamma) * ratio**gd.gamma), xt)
    assert failed_parts(gd.build_guidance(free_target=wrong)) == {"Classifier-free guidance"}


def test_guided_density_verifies():
    verified(registry.get("guided-density"))


def test_guided_density_rejects_unweighted_precision():
    wrong = (gd.m / gd.v + gd.g * gd.yv / gd.tau) / (1 / gd.v + 1 / gd.tau)   # γ dropped in P
    assert failed_parts(gd.build_density(mean=wrong)) == {
        "log p(x) + γ log p(y|x) is a quadratic in x"}


def test_guided_density_rejects_swapped_posterior_weights():
    wrong = sp.Tuple((gd.m * gd.v + gd.yv * gd.tau) / (gd.v + gd.tau),
                     gd.v * gd.tau / (gd.v + gd.tau))
    assert failed_parts(gd.build_density(posterior=wrong)) == {
        "γ = 1 is the Bayes posterior p(x|y)"}


def test_all_gamma_claim_is_refuted_but_not_for_nonnegative_weights():
    verified(registry.get("guidance-claims"), Status.REFUTED)
    # restricted to γ ≥ 0 the claim is true, so marking it false must fail
    res = gd.build_claims(weight=gd.g).verify()
    assert res.status is Status.FAILED


def test_gain_is_the_affine_coefficient_identity():
    c0 = adpm.C0
    gain = c0**2 * (1 - alpha_bar) / alpha_bar
    f = sp.lambdify([alpha, sp.Symbol("abp")], (gain - adpm.GAIN).xreplace(
        {beta: 1 - alpha, alpha_bar: sp.Symbol("abp") * alpha,
         adpm.alpha_bar_prev: sp.Symbol("abp")}))
    for a, p in ((0.9, 0.5), (0.99, 0.01), (0.5, 0.9)):
        assert abs(f(a, p)) < 1e-12
