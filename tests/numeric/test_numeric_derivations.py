"""Tiers S2-S4 for every registered derivation: the closed form it exports is
checked against simulation, pointwise identities or quadrature, and planted wrong
variants are rejected by the same checks.  ``PROPERTY_TESTS`` maps each
registered derivation to its tests; a test fails for any derivation without one."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import example, given
from numeric_helpers import chi2_power
from scipy import stats

from ddpm_theory import domains
from ddpm_theory.numeric import (
    Estimate,
    Method,
    active_examples,
    check_agreement,
    gauss_hermite,
    gof_test,
    per_run_alpha,
    rejection_probability,
    z_threshold,
)
from ddpm_theory.numeric.formulas import FAST, generated, schedule_quantities
from ddpm_theory.symbolic import registry
from ddpm_theory.testing.strategies import (
    EDGE_SCHEDULES,
    floats_in,
    means,
    schedule_and_t,
    seeds,
    variances,
)

EPS = np.finfo(np.float64).eps
N = 20_000  # draws per example; all checks below have closed-form SEs at this n
BETA_MISS = 1e-3  # miss probability in the power statements (acceptance.DEFAULT_BETA)


@dataclass(frozen=True)
class Law:
    """A claimed univariate Gaussian law: mean and variance."""

    mean: float
    var: float


# ---------------------------------------------------------------------------
# A Gaussian-law check with stated budget and power


def law_failures(x: np.ndarray, law: Law, n_ex: int) -> list[str]:
    """Which of three checks reject ``x ~ N(law.mean, law.var)`` (i.i.d.).

    mean: z-test with the claimed variance (exact); variance: chi^2_n test of
    sum (x - mean)^2 / var (exact); KS against the full law.  The per-test budget
    1e-6 is split over ``n_ex`` examples and the three checks."""
    n = x.size
    if law.var <= 0.0:  # a point mass (e.g. alpha_bar_0 = 1 slipped in at t = 1)
        return [] if np.all(x == law.mean) else ["degenerate"]
    budget = 1e-6 / 3
    fails = []
    est = Estimate(float(x.mean()), math.sqrt(law.var / n), n, Method.MONTE_CARLO)
    if not check_agreement(est, law.mean, budget=budget, n_examples=n_ex).agrees:
        fails.append("mean")
    q = float(np.sum((x - law.mean) ** 2) / law.var)
    p = 2 * min(stats.chi2.cdf(q, n), stats.chi2.sf(q, n))
    if p < per_run_alpha(budget, n_ex):
        fails.append("variance")
    if not gof_test(x, stats.norm(law.mean, math.sqrt(law.var)).cdf, budget=budget,
                    n_examples=n_ex).passed:
        fails.append("ks")
    return fails


def slip_power(true: Law, slip: Law, n: int, n_ex: int) -> float:
    """Exact probability that ``law_failures`` rejects ``slip`` on n draws from ``true``,
    bounded below by the better of its mean and variance tests alone.

    mean: x̄ ~ N(m, v/n) against the threshold z_a sqrt(v_slip/n) (``rejection_probability``
    with the claimed and the true SE).  variance: q = sum (x - m_slip)^2 / v_slip is
    (v / v_slip) times a noncentral chi^2_n with noncentrality n dm^2 / v (exact)."""
    if slip.var <= 0.0:
        return 1.0 if true.var > 0.0 else 0.0  # any spread is rejected against a point mass
    dm = abs(true.mean - slip.mean)
    z_a = z_threshold(1e-6 / 3, n_ex)
    mean_power = rejection_probability(dm, math.sqrt(slip.var / n), z_a,
                                       true_stderr=math.sqrt(true.var / n))
    var_power = chi2_power(true.var / slip.var, n, per_run_alpha(1e-6 / 3, n_ex),
                           ncp=n * dm**2 / true.var)
    return max(mean_power, var_power)


def slip_detectable(true: Law, slip: Law, n: int, n_ex: int) -> bool:
    """Whether ``law_failures`` rejects the slip with probability >= 1 - 1e-3 / n_ex
    (computed): a miss budget of 1e-3 per test function, split over its examples, since
    each example that asserts a rejection is one more chance to miss."""
    return slip_power(true, slip, n, n_ex) >= 1 - BETA_MISS / n_ex


def simulate_chain(x0: np.ndarray, betas: np.ndarray, t: int, rng: np.random.Generator):
    """x_t from x_0 by t forward steps x_s = sqrt(1 - beta_s) x_{s-1} + sqrt(beta_s) eps
    (Ho et al. 2020, Eq. 2), never using the marginal."""
    x = x0.copy()
    for s in range(t):
        x = math.sqrt(1.0 - betas[s]) * x + math.sqrt(betas[s]) * rng.standard_normal(x.shape)
    return x


# ---------------------------------------------------------------------------
# forward-marginal (S3 moments + S4 goodness of fit)


def _marginal(kw: dict[str, float], x0: float, mean_coef, variance) -> Law:
    return Law(float(mean_coef(alpha_bar=kw["alpha_bar"])) * x0,
               float(variance(alpha_bar=kw["alpha_bar"])))


FORWARD_SLIPS = {
    "alpha_bar_{t-1} for alpha_bar_t": lambda kw, x0: Law(
        math.sqrt(kw["alpha_bar_prev"]) * x0, 1 - kw["alpha_bar_prev"]),
    "missing sqrt in the mean": lambda kw, x0: Law(kw["alpha_bar"] * x0, 1 - kw["alpha_bar"]),
    "one-step variance beta_t": lambda kw, x0: Law(math.sqrt(kw["alpha_bar"]) * x0, kw["beta"]),
}


@pytest.mark.statistical
@given(pair=schedule_and_t(), x0=floats_in(domains.REAL, -3.0, 3.0), seed=seeds())
@example(pair=(EDGE_SCHEDULES["linear_T10"], 10), x0=2.0, seed=0)
@example(pair=(EDGE_SCHEDULES["cosine_T10"], 3), x0=-1.5, seed=1)
@example(pair=(EDGE_SCHEDULES["constant_near_zero"], 4), x0=1.0, seed=2)
@example(pair=(EDGE_SCHEDULES["zero_terminal_snr_T10"], 10), x0=1.0, seed=3)
def test_forward_chain_follows_marginal(pair, x0: float, seed: int) -> None:
    betas, t = pair
    kw = schedule_quantities(betas).at(t)
    x = simulate_chain(np.full(N, x0), betas, t, np.random.default_rng(seed))
    n_ex = active_examples(4)
    g = generated()
    for mean_coef, variance in ((FAST["q_mean_coef"], FAST["q_variance"]),
                                (g["q_mean_coef"], g["q_variance"])):
        law = _marginal(kw, x0, mean_coef, variance)
        assert law_failures(x, law, n_ex) == [], law
    true = _marginal(kw, x0, FAST["q_mean_coef"], FAST["q_variance"])
    for name, slip in FORWARD_SLIPS.items():
        wrong = slip(kw, x0)
        if slip_detectable(true, wrong, N, n_ex):  # power holds: the slip must be rejected
            assert law_failures(x, wrong, n_ex), name


def test_forward_slips_are_detectable_on_a_standard_schedule() -> None:
    """Power is asserted, not hoped for: at the linear T = 10 schedule, t = 10,
    x_0 = 2 (a pinned example above) every planted slip is in the detectable range."""
    kw = schedule_quantities(EDGE_SCHEDULES["linear_T10"]).at(10)
    true = _marginal(kw, 2.0, FAST["q_mean_coef"], FAST["q_variance"])
    for name, slip in FORWARD_SLIPS.items():
        assert slip_detectable(true, slip(kw, 2.0), N, active_examples(4)), name


# ---------------------------------------------------------------------------
# bayes-posterior (S3 regression, S2 pointwise eps-form and t = 1)


def _posterior_sample(betas, t, rng):
    """(x_0, x_{t-1}, x_t) from the forward process: x_0 ~ N(0, 1), step by step."""
    x0 = rng.standard_normal(N)
    xprev = simulate_chain(x0, betas, t - 1, rng)
    xt = simulate_chain(xprev, betas[t - 1:t], 1, rng)
    return x0, xprev, xt


def posterior_failures(x0, xprev, xt, c0: float, ct: float, var: float, n_ex: int) -> list[str]:
    """Regression of x_{t-1} on (x_0, x_t): q(x_{t-1}|x_t,x_0) is exactly the linear
    Gaussian model x_{t-1} = c0 x_0 + ct x_t + N(0, var), so given the design the
    OLS coefficients are exactly N(c, var (X^T X)^{-1}) and RSS / var ~ chi^2_{n-2}."""
    budget = 1e-6 / 3
    x = np.stack([x0, xt], axis=1)
    coef, *_ = np.linalg.lstsq(x, xprev, rcond=None)
    cov = var * np.linalg.inv(x.T @ x)
    fails = []
    for j, (name, c) in enumerate((("coef_x0", c0), ("coef_xt", ct))):
        est = Estimate(float(coef[j]), math.sqrt(cov[j, j]), N, Method.MONTE_CARLO)
        if not check_agreement(est, c, budget=budget, n_examples=n_ex).agrees:
            fails.append(name)
    rss = float(np.sum((xprev - x @ coef) ** 2))
    p = 2 * min(stats.chi2.cdf(rss / var, N - 2), stats.chi2.sf(rss / var, N - 2))
    if p < per_run_alpha(budget, n_ex):
        fails.append("variance")
    return fails


def _posterior_params(kw, fns=FAST) -> tuple[float, float, float]:
    b, a, ab, abp = kw["beta"], kw["alpha"], kw["alpha_bar"], kw["alpha_bar_prev"]
    return (float(fns["posterior_mean_coef_x0"](beta=b, alpha_bar=ab, alpha_bar_prev=abp)),
            float(fns["posterior_mean_coef_xt"](alpha=a, alpha_bar=ab, alpha_bar_prev=abp)),
            float(fns["posterior_variance"](beta=b, alpha_bar=ab, alpha_bar_prev=abp)))


POSTERIOR_SLIPS = {
    "alpha_bar_t for alpha_bar_{t-1} in the x0 coefficient": lambda kw, c0, ct, v: (
        math.sqrt(kw["alpha_bar"]) * kw["beta"] / (1 - kw["alpha_bar"]), ct, v),
    "missing sqrt in the x_t coefficient": lambda kw, c0, ct, v: (
        c0, kw["alpha"] * (1 - kw["alpha_bar_prev"]) / (1 - kw["alpha_bar"]), v),
    "beta_t for beta_tilde_t": lambda kw, c0, ct, v: (c0, ct, kw["beta"]),
}


def _posterior_slip_detectable(x0, xt, true, wrong, n_ex) -> bool:
    """Power >= 1 - 1e-3 / n_ex (as ``slip_detectable``), exactly given the design: each
    OLS coefficient is N(c_true, var_true (X^T X)^{-1}_jj) and is tested with the claimed
    variance; RSS is var_true chi^2_{N-2} whatever the claimed coefficients, tested
    against var_wrong."""
    z_a = z_threshold(1e-6 / 3, n_ex)
    x = np.stack([x0, xt], axis=1)
    inv = np.linalg.inv(x.T @ x)
    powers = [rejection_probability(true[j] - wrong[j], math.sqrt(wrong[2] * inv[j, j]), z_a,
                                    true_stderr=math.sqrt(true[2] * inv[j, j]))
              for j in range(2)]
    powers.append(chi2_power(true[2] / wrong[2], N - 2, per_run_alpha(1e-6 / 3, n_ex)))
    return max(powers) >= 1 - BETA_MISS / n_ex


@pytest.mark.statistical
@given(pair=schedule_and_t(min_steps=2), seed=seeds())
@example(pair=(EDGE_SCHEDULES["cosine_T10"], 5), seed=0)
@example(pair=(EDGE_SCHEDULES["cosine_T10"], 10), seed=1)
@example(pair=(EDGE_SCHEDULES["constant_near_one"], 3), seed=2)
def test_posterior_by_regression(pair, seed: int) -> None:
    betas, t = pair
    if t == 1:
        t = 2  # t = 1 is degenerate (beta_tilde_1 = 0); it has its own test below
    kw = schedule_quantities(betas).at(t)
    x0, xprev, xt = _posterior_sample(betas, t, np.random.default_rng(seed))
    n_ex = active_examples(3)
    true = _posterior_params(kw)
    assert posterior_failures(x0, xprev, xt, *true, n_ex) == []
    assert posterior_failures(x0, xprev, xt, *_posterior_params(kw, generated()), n_ex) == []
    for name, slip in POSTERIOR_SLIPS.items():
        wrong = slip(kw, *true)
        if _posterior_slip_detectable(x0, xt, true, wrong, n_ex):
            assert posterior_failures(x0, xprev, xt, *wrong, n_ex), name


def test_posterior_slips_are_detectable_on_a_standard_schedule() -> None:
    """At the cosine T = 10 schedule, t = 5 (pinned above), every planted slip is in the
    detectable range.  (At linear T = 10 the x_0 and x_t columns are 0.99-correlated and
    the coefficient slips, ~2e-3, sit below the regression's power at n = 2e4.)"""
    betas = EDGE_SCHEDULES["cosine_T10"]
    kw = schedule_quantities(betas).at(5)
    x0, _, xt = _posterior_sample(betas, 5, np.random.default_rng(0))
    true = _posterior_params(kw)
    for name, slip in POSTERIOR_SLIPS.items():
        assert _posterior_slip_detectable(x0, xt, true, slip(kw, *true), active_examples(3)), name


@given(pair=schedule_and_t(max_steps=16))
@example(pair=(EDGE_SCHEDULES["single_step"], 1))
@example(pair=(EDGE_SCHEDULES["zero_terminal_snr_T10"], 1))
def test_posterior_at_t1_is_a_point_mass_at_x0(pair) -> None:
    """t = 1 (S2, exact): alpha_bar_0 = 1 gives beta_tilde_1 = 0 and mu_tilde_1 = x_0."""
    betas, _ = pair
    kw = schedule_quantities(betas).at(1)
    for fns in (FAST, generated()):
        c0, ct, v = _posterior_params(kw, fns)
        # (1 - alpha_bar_0) = 0 exactly.  c0 = beta / (1 - fl(1 - beta)): the subtraction
        # is exact (Sterbenz) but fl(1 - beta) carries an absolute error <= eps / 2, so
        # the relative error of c0 is <= eps / (2 beta) plus two roundings.
        assert v == 0.0 and ct == 0.0
        eps = np.finfo(np.float64).eps
        assert abs(c0 - 1.0) <= eps / (2 * kw["beta"]) + 2 * eps


@given(pair=schedule_and_t(), seed=seeds())
@example(pair=(EDGE_SCHEDULES["linear_T10"], 7), seed=0)
@example(pair=(EDGE_SCHEDULES["single_step"], 1), seed=0)
def test_posterior_eps_form_pointwise(pair, seed: int) -> None:
    """S2: mu_tilde from (x_0, x_t) equals the eps-form (Ho et al. 2020, Eq. 10) sample by
    sample, with x_t = sqrt(ab) x_0 + sqrt(1 - ab) eps (common random numbers)."""
    betas, t = pair
    kw = schedule_quantities(betas).at(t)
    if kw["alpha"] == 0.0:
        return  # beta_t = 1: the eps-form divides by sqrt(alpha_t) = 0 (undefined)
    rng = np.random.default_rng(seed)
    x0, eps = rng.standard_normal((2, 1000))
    xt = math.sqrt(kw["alpha_bar"]) * x0 + math.sqrt(1 - kw["alpha_bar"]) * eps
    c0, ct, _ = _posterior_params(kw)

    def eps_form(cx, ce):
        return cx * xt + ce * eps

    cx = float(FAST["posterior_mean_eps_coef_xt"](alpha=kw["alpha"]))
    ce = float(FAST["posterior_mean_eps_coef_eps"](alpha=kw["alpha"], beta=kw["beta"],
                                                   alpha_bar=kw["alpha_bar"]))
    # rtol 1e-10 (S2) relative to the size of the summed terms: both forms add two
    # terms that can cancel (|cx xt| ~ |ce eps| ~ 1/sqrt(alpha) when beta -> 1).
    scale = np.abs(c0 * x0) + np.abs(ct * xt) + np.abs(cx * xt) + np.abs(ce * eps)
    # Plus the coefficients' relative error from 1 - alpha_bar formed in float,
    # <= 4 (t + 2) eps / (1 - alpha_bar_t) (formulas' docstring; 1e-7 at beta = 1e-9, t = 1).
    delta = 4 * (t + 2) * EPS / schedule_quantities(betas).one_minus_alpha_bar[t - 1]
    tol = (1e-10 + delta) * scale
    assert np.all(np.abs(c0 * x0 + ct * xt - eps_form(cx, ce)) <= tol)
    # Planted: beta_tilde_t for beta_t in the eps coefficient.  Wherever it moves the
    # eps-form by more than 2 tol, the check must reject it; at t > 1 of the pinned
    # linear schedule it moves every sample.
    bt = float(FAST["posterior_variance"](beta=kw["beta"], alpha_bar=kw["alpha_bar"],
                                          alpha_bar_prev=kw["alpha_bar_prev"]))
    ce_wrong = -bt / (math.sqrt(1 - kw["alpha_bar"]) * math.sqrt(kw["alpha"]))
    wrong = eps_form(cx, ce_wrong)
    moved = np.abs(wrong - eps_form(cx, ce)) > 2 * tol
    assert np.all(np.abs(c0 * x0 + ct * xt - wrong)[moved] > tol[moved])
    if betas is EDGE_SCHEDULES["linear_T10"]:
        assert moved.all()


# ---------------------------------------------------------------------------
# gaussian-kl (S3 by quadrature; torch/scipy cross-checks in test_numeric_gaussian)


@given(m1=means(1), v1=variances(1), m2=means(1), v2=variances(1))
@example(m1=np.array([1.0]), v1=np.array([0.5]), m2=np.array([-1.0]), v2=np.array([2.0]))
def test_kl_is_expected_log_ratio(m1, v1, m2, v2) -> None:
    """KL = E_p[log p - log q] by Gauss--Hermite (2 nodes: exact on the quadratic)."""
    a, b, c, d = float(m1[0]), float(v1[0]), float(m2[0]), float(v2[0])

    def log_ratio(z: np.ndarray) -> np.ndarray:
        x = a + math.sqrt(b) * z[:, 0]
        return stats.norm.logpdf(x, a, math.sqrt(b)) - stats.norm.logpdf(x, c, math.sqrt(d))

    q = gauss_hermite(log_ratio, 1, 2).value
    # rounding of terms of size |log(v2/v1)| + (|dm| + 2 sqrt v1)^2 / v2 (nodes at |z| <= 2)
    scale = 1 + abs(math.log(d / b)) + (abs(a - c) + 2 * math.sqrt(b)) ** 2 / d + b / d
    tol = 64 * np.finfo(np.float64).eps * scale
    g = generated()["kl_univariate"]
    for kl in (FAST["kl_univariate"], g):
        assert abs(float(kl(mean1=a, var1=b, mean2=c, var2=d)) - q) <= tol
    # Planted: variances where standard deviations belong in the log term.
    wrong = 0.5 * math.log(math.sqrt(d / b)) - 0.5 + (b + (a - c) ** 2) / (2 * d)
    if abs(math.log(d / b)) > 1e-6:
        assert abs(wrong - q) > tol


# ---------------------------------------------------------------------------
# Every registered derivation has numeric property tests

REFUTED = "test_numeric_objective::test_refuted_claim_has_a_counterexample"
@given(u=floats_in(domains.POSITIVE, 1e-300, 1e300))
@example(u=1.0)
@example(u=1.0 + 2**-52)
def test_log_inequality_on_its_domain(u):
    """u − 1 − log u ≥ 0 on the whole of (0, ∞) in float64, written as (u − 1) −
    log1p(u − 1) near 1 so that rounding cannot make it negative; equality only at
    u = 1, so the wrong way round (log u ≥ u − 1, a plausible slip) fails at every other
    u, down to the float64 neighbours of 1 where g ≈ (u − 1)²/2 ≥ 2⁻¹⁰⁷."""
    d = u - 1.0
    g = d - math.log1p(d) if abs(d) < 0.5 else d - math.log(u)
    assert g >= 0.0
    assert (g > 0.0) == (u != 1.0)


PROPERTY_TESTS: dict[str, tuple[str, ...]] = {
    "forward-marginal": ("test_numeric_derivations::test_forward_chain_follows_marginal",
                         "test_numeric_derivations::"
                         "test_forward_slips_are_detectable_on_a_standard_schedule"),
    "bayes-posterior": ("test_numeric_derivations::test_posterior_by_regression",
                        "test_numeric_derivations::"
                        "test_posterior_slips_are_detectable_on_a_standard_schedule",
                        "test_numeric_derivations::test_posterior_at_t1_is_a_point_mass_at_x0",
                        "test_numeric_derivations::test_posterior_eps_form_pointwise"),
    "gaussian-kl": ("test_numeric_derivations::test_kl_is_expected_log_ratio",
                    "test_numeric_gaussian::test_kl_normal_matches_torch",
                    "test_numeric_gaussian::test_kl_mvn_matches_torch_and_diagonal"),
    "elbo-decomposition": ("test_numeric_bounds::test_decomposition_holds_pointwise",
                           "test_numeric_bounds::test_decomposition_in_expectation"),
    "elbo-gap": ("test_numeric_bounds::test_bound_gap_is_the_path_kl",
                 "test_numeric_bounds::test_exact_anchor_is_tight_on_every_path"),
    "vae-elbo": ("test_numeric_bounds::test_vae_elbo_identity",),
    "cross-entropy": ("test_numeric_bounds::test_cross_entropy_discrete",
                      "test_numeric_bounds::test_cross_entropy_gaussian"),
    "prior-term": ("test_numeric_objective::test_prior_term_is_expected_log_ratio",),
    "decoder-term": ("test_numeric_objective::test_decoder_bins_partition_and_match_scipy",),
    "mean-matching": ("test_numeric_objective::test_mean_matching_pointwise",),
    "loss-weights": ("test_numeric_objective::test_loss_weight_identities_pointwise",),
    "optimal-reverse-variance": (
        "test_numeric_objective::test_optimal_variance_is_conditional_variance",
        "test_numeric_objective::test_optimal_variance_anchors"),
    "mle-view": ("test_numeric_objective::test_mle_view",),
    "tweedie-score": ("test_numeric_score::test_tweedie_is_the_conditional_mean",
                      "test_numeric_score::test_tweedie_planted_slip_is_rejected",
                      "test_numeric_score::test_best_eps_error_gaussian_data"),
    "consistency-term-corrected": ("test_numeric_score::test_consistency_mutual_information",),
    "continuous-time": ("test_numeric_score::test_continuous_time_limit",),
    "tweedie-any-law": ("test_numeric_road_score::test_tweedie_any_law_by_quadrature",),
    "score-eps-equivalence": (
        "test_numeric_road_score::test_best_eps_predictor_is_minus_scaled_score",),
    "analytic-dpm-variance": ("test_numeric_road_score::test_analytic_dpm_two_ways",),
    "denoising-score-matching": ("test_numeric_road_score::test_dsm_minus_esm_is_model_free",),
    "classifier-guidance": ("test_numeric_road_score::test_guided_score_by_finite_differences",),
    "guided-density": ("test_numeric_road_score::test_guided_density_is_the_stated_gaussian",
                       "test_numeric_road_score::"
                       "test_guided_integral_diverges_below_minus_tau_over_v"),
    "guidance-claims": (REFUTED,),
    "log-inequality": ("test_numeric_derivations::test_log_inequality_on_its_domain",),
    "instantaneous-change-of-variables": ("test_ode::test_ode_nll_equals_the_true_nll",
                                          "test_ode::test_planted_divergence_sign_is_caught"),
    "respaced-chain-marginals": ("test_respace::test_sub_chain_has_the_parent_marginals",
                                 "test_strided::test_K_step_bound_matches_its_exact_value"),
    "ddim-marginals": ("test_numeric_road_beyond::test_ddim_chain_keeps_the_ddpm_marginals",
                       "test_numeric_road_beyond::"
                       "test_ddim_without_the_square_root_loses_the_marginals"),
    "ddim-sampler": ("test_numeric_road_beyond::"
                     "test_ddim_sampler_is_ddpm_at_beta_tilde_and_exact_at_sigma_zero",),
    "probability-flow-gaussian": (
        "test_numeric_road_beyond::test_probability_flow_transports_the_data_law_to_the_marginal",
        "test_numeric_road_beyond::test_probability_flow_samples_have_the_marginal_law"),
    "strided-chain-bound": ("test_numeric_road_beyond::test_strided_posterior_by_regression",
                            "test_numeric_road_beyond::"
                            "test_strided_weights_telescope_on_real_schedules",
                            "test_strided::test_K_step_bound_matches_its_exact_value"),
    "continuous-time-remainder": (
        "test_numeric_road_beyond::test_continuous_time_remainder_is_within_c_over_t",),
    "vdm-snr-invariance": ("test_numeric_road_beyond::test_vdm_loss_depends_only_on_the_ends",),
    "luo-telescoping": ("test_numeric_score::test_luo_telescoping_pointwise",),
    "luo-consistency-term": (REFUTED,),
    "term-by-term-cancellation": (REFUTED,),
    "density-claims": (REFUTED,),
    "information-claims": (REFUTED,),
    "probability-claims": (REFUTED,),
    "reverse-conditional-claims": (REFUTED,),
    "score-claims": (REFUTED,),
    "loss-weight-claims": (REFUTED,),
    "vae-and-sampling-claims": (REFUTED,),
    "linear-gaussian-step": ("test_numeric_road_elbo::test_linear_gaussian_step_by_quadrature",
                             "test_numeric_road_elbo::"
                             "test_linear_gaussian_step_rejects_unsquared_a"),
    "forward-marginal-induction": (
        "test_numeric_road_elbo::test_forward_induction_cf_of_the_chain",
        "test_numeric_road_elbo::test_forward_induction_rejects_previous_alpha_bar"),
    "elbo-by-jensen": ("test_numeric_road_elbo::test_jensen_gap_is_kl_discrete",
                       "test_numeric_road_elbo::test_jensen_gap_is_not_the_reverse_kl",
                       "test_numeric_road_elbo::test_jensen_gap_is_kl_gaussian_latent"),
    "tower-property": ("test_numeric_road_elbo::test_tower_property_by_quadrature",
                       "test_numeric_road_elbo::"
                       "test_tower_property_rejects_the_prior_variance_in_the_posterior",
                       "test_numeric_road_elbo::test_ddpm_pair_has_the_forward_step"),
    "marginalisation-to-kl": (
        "test_numeric_road_elbo::test_marginalisation_to_kl_over_the_chain",
        "test_numeric_road_elbo::test_marginalisation_rejects_the_kl_at_the_mean"),
}
"""Registered derivation -> the numeric property tests that check it ("module::function").
Every closed form they export is also covered by tier S1 in test_numeric_formulas."""


def test_every_registered_derivation_has_a_numeric_property_test() -> None:
    import importlib

    from ddpm_theory.symbolic.engine import Status

    registered = set(registry.names())
    missing = registered - set(PROPERTY_TESTS)
    stale = set(PROPERTY_TESTS) - registered
    assert not missing, f"derivations without a numeric property test: {sorted(missing)}"
    assert not stale, f"property tests for unregistered derivations: {sorted(stale)}"
    for name, refs in PROPERTY_TESTS.items():
        assert refs, name
        for ref in refs:
            module, func = ref.split("::")
            assert callable(getattr(importlib.import_module(module), func)), ref
        if refs == (REFUTED,):  # the generic test only covers claimed-false steps
            assert registry.get(name).expected_status is Status.REFUTED, name
