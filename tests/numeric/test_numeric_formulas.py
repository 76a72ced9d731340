"""Tier S1: every hand-written float64 formula against its lambdify'd symbolic twin."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import special

from ddpm_theory import domains
from ddpm_theory.numeric import formulas
from ddpm_theory.numeric.formulas import FAST, generated, schedule_quantities
from ddpm_theory.testing.strategies import (
    EDGE_SCHEDULES,
    floats_in,
    means,
    schedule_and_t,
    variances,
)

EPS = np.finfo(np.float64).eps
RTOL = 1e-12  # docs/verification.md S1, for the well-conditioned schedule formulas
SCHEDULE_NAMES = {"beta", "alpha", "alpha_bar", "alpha_bar_prev", "sigma2", "data_var"}


def test_every_exported_symbol_has_a_code_name() -> None:
    from ddpm_theory.symbolic import registry

    missing = {(n, str(s)) for n in registry.names()
               for e in registry.get(n).exports.values() for s in e.free_symbols
               if s.name not in formulas.CODE_NAME}
    assert not missing, f"add code names to formulas.CODE_NAME for {sorted(missing)}"


def test_every_export_has_a_fast_version_and_back() -> None:
    assert set(generated()) == set(FAST), "exports and hand-written formulas disagree"
    for name, f in generated().items():
        # same keyword interface, so the S1 comparison needs no adapter
        code = FAST[name].__code__
        assert set(code.co_varnames[: code.co_argcount]) == set(f.params), name


SIGMA2 = 0.01  # a reverse variance for the formulas that take sigma_t^2
DATA_VAR = 0.3  # a data variance for the Gaussian-data optimum


def _skip(name: str, kw: dict[str, float]) -> bool:
    """Points where a formula is undefined, not wrong: beta_t = 1 (alpha_t = 0) for the
    eps-forms, SNR(0) = inf at t = 1 and SNR(T) = 0 (zero terminal SNR) for the SNR forms."""
    if kw["alpha"] == 0.0 and ("eps" in name):
        return True
    if name.endswith("_snr") and (kw["alpha_bar_prev"] == 1.0 or kw["alpha_bar"] == 0.0):
        return True
    return False


def _rtol(name: str, kw: dict[str, float]) -> float:
    """rtol 1e-12 (S1) for products and quotients.  The SNR forms subtract SNR(t) from
    SNR(t-1) (or their ratio from 1), which amplifies rounding by the condition number
    kappa = (SNR(t-1) + SNR(t)) / |SNR(t-1) - SNR(t)|; both sides then agree to ~16 eps kappa."""
    if not name.endswith("_snr"):
        return RTOL
    sp_ = kw["alpha_bar_prev"] / (1 - kw["alpha_bar_prev"])
    st_ = kw["alpha_bar"] / (1 - kw["alpha_bar"])
    kappa = (sp_ + st_) / abs(sp_ - st_) if sp_ != st_ else np.inf
    return max(RTOL, 16 * EPS * kappa)


def _schedule_mismatches(
    betas: np.ndarray, t: int, fast: dict[str, Callable[..., np.ndarray]]
) -> list[str]:
    """Names of schedule formulas whose fast and generated values differ beyond tolerance.

    Both sides receive the same float64 inputs; they differ only by operation order
    (a few ulp for products and quotients), so any transcription slip of relative
    size above the tolerance is caught."""
    kw = {**schedule_quantities(betas).at(t), "sigma2": SIGMA2, "data_var": DATA_VAR}
    bad = []
    for name, g in generated().items():
        if not set(g.params) <= SCHEDULE_NAMES or _skip(name, kw):
            continue
        args = {p: kw[p] for p in g.params}
        want, got = g(**args), fast[name](**args)
        if not np.allclose(got, want, rtol=_rtol(name, kw), atol=0.0):
            bad.append(name)
    return bad


@given(pair=schedule_and_t())
@example(pair=(EDGE_SCHEDULES["single_step"], 1))
@example(pair=(EDGE_SCHEDULES["constant_near_zero"], 4))
@example(pair=(EDGE_SCHEDULES["constant_near_one"], 4))
@example(pair=(EDGE_SCHEDULES["zero_terminal_snr_T10"], 10))
@example(pair=(EDGE_SCHEDULES["cosine_T10"], 1))
def test_schedule_formulas_match_symbolic(pair: tuple[np.ndarray, int]) -> None:
    betas, t = pair
    assert _schedule_mismatches(betas, t, FAST) == []


def _slip(name: str, f: Callable[..., np.ndarray]) -> dict[str, Callable[..., np.ndarray]]:
    return {**FAST, name: f}


def _snr(ab):
    return ab / (1 - ab)


PLANTED = {
    # alpha_bar_t where alpha_bar_{t-1} belongs (the index slip of rule 4)
    "posterior_mean_coef_x0": lambda beta, alpha_bar, alpha_bar_prev:
        np.sqrt(alpha_bar) * beta / (1 - alpha_bar),
    # beta_t for beta_tilde_t
    "posterior_variance": lambda beta, alpha_bar, alpha_bar_prev: beta + 0 * alpha_bar,
    # a missing square root
    "posterior_mean_coef_xt": lambda alpha, alpha_bar, alpha_bar_prev:
        alpha * (1 - alpha_bar_prev) / (1 - alpha_bar),
    "q_mean_coef": lambda alpha_bar: alpha_bar,
    "q_variance": lambda alpha_bar: np.sqrt(1 - alpha_bar),
    "posterior_mean_eps_coef_xt": lambda alpha: 1 / alpha,
    "posterior_mean_eps_coef_eps": lambda alpha, beta, alpha_bar:
        -beta / ((1 - alpha_bar) * np.sqrt(alpha)),
    # Ho et al. Eq. 12 without its alpha_t
    "lambda_eps": lambda alpha, alpha_bar, beta, sigma2:
        beta**2 / (2 * sigma2 * (1 - alpha_bar)),
    "lambda_x0": lambda alpha_bar, alpha_bar_prev, beta, sigma2:
        alpha_bar * beta**2 / (2 * sigma2 * (1 - alpha_bar) ** 2),
    "lambda_v": lambda alpha_bar, alpha_bar_prev, beta, sigma2:
        beta**2 / (2 * sigma2 * (1 - alpha_bar)),
    "snr": lambda alpha_bar: (1 - alpha_bar) / alpha_bar,
    # the noise share instead of the signal share
    "best_eps_error_gaussian_data": lambda alpha_bar, data_var:
        (1 - alpha_bar) / (alpha_bar * data_var + 1 - alpha_bar),
    "mean_matching_weight": lambda sigma2: 1 / sigma2,  # the 1/2 dropped
    # alpha_bar_t and alpha_bar_{t-1} swapped between numerator and denominator
    "optimal_sigma2_gaussian_data": lambda alpha_bar, alpha_bar_prev, beta, data_var:
        beta * (alpha_bar * data_var + 1 - alpha_bar)
        / (alpha_bar_prev * data_var + 1 - alpha_bar_prev),
    "simple_x0_weight": lambda alpha_bar: np.sqrt(_snr(alpha_bar)),
    "lambda_eps_snr": lambda alpha_bar, alpha_bar_prev:
        0.5 * (_snr(alpha_bar) / _snr(alpha_bar_prev) - 1),
    "lambda_x0_snr": lambda alpha_bar, alpha_bar_prev: _snr(alpha_bar_prev) - _snr(alpha_bar),
    "lambda_v_snr": lambda alpha_bar, alpha_bar_prev:
        (_snr(alpha_bar_prev) - _snr(alpha_bar)) / (2 * (_snr(alpha_bar_prev) + 1)),
}


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_planted_schedule_slips_are_rejected(name: str) -> None:
    betas = EDGE_SCHEDULES["linear_T10"]
    assert _schedule_mismatches(betas, 5, _slip(name, PLANTED[name])) == [name]


def test_every_schedule_formula_has_a_planted_slip() -> None:
    schedule_exports = {n for n, g in generated().items() if set(g.params) <= SCHEDULE_NAMES}
    assert schedule_exports == set(PLANTED)


def _kl_error_bound(mean1, var1, mean2, var2) -> np.ndarray:
    """Both forms sum terms of size |log r|, r, dm^2 / v2 and 1, and can cancel to
    KL ~ 0; the absolute error is bounded by ~8 eps times the sum of the terms'
    magnitudes (the condition-number argument S1 asks for)."""
    r = var1 / var2
    return 8 * EPS * (1.0 + r + np.abs(np.log(r)) + (mean1 - mean2) ** 2 / var2)


@given(m1=means(4), v1=variances(4), m2=means(4), v2=variances(4))
@example(m1=np.zeros(4), v1=np.ones(4), m2=np.zeros(4), v2=np.ones(4))
def test_kl_matches_symbolic(m1, v1, m2, v2) -> None:
    g = generated()["kl_univariate"]
    kw = {"mean1": m1, "var1": v1, "mean2": m2, "var2": v2}
    err = np.abs(FAST["kl_univariate"](**kw) - g(**kw))
    np.testing.assert_array_less(err, _kl_error_bound(m1, v1, m2, v2))
    # Planted: the log term without its 1/2 is rejected by the same comparison.
    wrong = np.log(v2 / v1) - 0.5 + (v1 + (m1 - m2) ** 2) / (2 * v2)
    different = np.abs(np.log(v2 / v1)) > 1e-6
    assert np.all(np.abs(wrong - g(**kw))[different]
                  > _kl_error_bound(m1, v1, m2, v2)[different])


def test_formula_call_checks_its_keywords() -> None:
    g = generated()["q_variance"]
    with pytest.raises(TypeError):
        g(alpha=0.5)
    assert g.derivation == "forward-marginal"
    assert formulas.q_variance(0.25) == 0.75


@given(pair=schedule_and_t())
@example(pair=(EDGE_SCHEDULES["constant_near_zero"], 1))
def test_alpha_bar_parameterisation_conditioning(pair: tuple[np.ndarray, int]) -> None:
    """1 - alpha_bar formed in float64 has relative error <= eps / (1 - alpha_bar) (one
    rounding of alpha_bar near 1, then an exact Sterbenz subtraction), against the
    accurate -expm1(sum log1p(-beta)); the bound is attained in order of magnitude for
    tiny betas (documented in formulas' module docstring)."""
    betas, t = pair
    sq = schedule_quantities(betas)
    exact = sq.one_minus_alpha_bar[t - 1]
    naive = float(FAST["q_variance"](alpha_bar=sq.alpha_bar[t - 1]))
    # t roundings accumulate in the cumulative product: <= (t + 2) eps absolute in alpha_bar.
    assert abs(naive - exact) <= (t + 2) * EPS * max(sq.alpha_bar[t - 1], exact) + 4 * EPS * exact
    if exact < 1e-8:  # the loss is real, not hypothetical: > 1e4 eps relative
        assert abs(naive - exact) / exact > 1e4 * EPS or naive == exact


@given(ab=floats_in(domains.ALPHA_BAR, 1e-6, 1 - 1e-6), x0=floats_in(domains.REAL, -5, 5))
@example(ab=0.5, x0=0.0)
def test_prior_term_matches_symbolic(ab: float, x0: float) -> None:
    g = generated()["L_T_per_coordinate"]
    got = float(FAST["L_T_per_coordinate"](alpha_bar_T=ab, x0=x0))
    want = float(g(alpha_bar_T=ab, x0=x0))
    # terms ab x0^2, ab, log(1 - ab): absolute rounding <~ 8 eps times their sum
    bound = 8 * EPS * (1 + ab * x0 * x0 + ab + abs(math.log1p(-ab)))
    assert abs(got - want) <= bound
    slip = 0.5 * ab * (x0 * x0 - 1)  # planted: the -log(1 - ab)/2 term dropped
    assert abs(slip - want) > bound


@given(mu=floats_in(domains.REAL, -3, 3), s=floats_in(domains.VARIANCE, 1e-2, 3.0),
       lo=floats_in(domains.REAL, -4, 4), width=floats_in(domains.POSITIVE, 1e-3, 2.0))
@example(mu=0.0, s=0.1, lo=-1.0 / 255, width=2.0 / 255)
def test_decoder_bins_match_symbolic(mu: float, s: float, lo: float, width: float) -> None:
    hi = lo + width
    kw = {"decoder_mean": mu, "decoder_std": s}
    g = generated()
    # The generated erf forms subtract numbers of size <= 1/2: absolute error <~ 4 eps.
    # The fast forms avoid that cancellation, so compare with atol 4 eps + rtol 1e-12.
    for name, args in (("bin_probability", {"bin_lo": lo, "bin_hi": hi}),
                       ("lowest_bin_probability", {"bin_hi": hi}),
                       ("highest_bin_probability", {"bin_lo": lo})):
        got, want = float(FAST[name](**args, **kw)), float(g[name](**args, **kw))
        assert abs(got - want) <= 4 * EPS + RTOL * abs(want), name


def test_decoder_bin_planted_slip_is_rejected() -> None:
    """A pixel bin [-1/255, 1/255] under N(0, 0.1^2): using sigma_1^2 as the scale moves
    the mass from 0.0313 to 0.3051 -- far beyond the S1 tolerance (4 eps + 1e-12)."""
    kw = {"bin_lo": -1 / 255, "bin_hi": 1 / 255, "decoder_mean": 0.0}
    want = float(generated()["bin_probability"](**kw, decoder_std=0.1))
    wrong = float(FAST["bin_probability"](**kw, decoder_std=0.01))
    assert abs(wrong - want) > 0.25


@given(bt=variances(1, 1e-6, 1.0), s2=variances(1, 1e-6, 1.0), dim=st.integers(1, 1000))
def test_mean_matching_constants_match_symbolic(bt, s2, dim: int) -> None:
    g = generated()
    b, v = float(bt[0]), float(s2[0])
    got = float(FAST["C_t"](beta_tilde=b, dim=dim, sigma2=v))
    want = float(g["C_t"](beta_tilde=b, dim=dim, sigma2=v))
    bound = 8 * EPS * dim * (1 + b / v + abs(math.log(v / b)))  # KL-type cancellation
    assert abs(got - want) <= bound
    assert float(FAST["mean_matching_weight"](sigma2=v)) == pytest.approx(
        float(g["mean_matching_weight"](sigma2=v)), rel=RTOL)
    if abs(math.log(v / b)) > 1e-3:  # planted: the ratio inverted inside the log
        slip = 0.5 * dim * (b / v + math.log(b / v) - 1)
        assert abs(slip - want) > bound


@given(a=floats_in(domains.REAL, -1.0, 1.0), b=variances(1, 1e-6, 1.0),
       bn=variances(1, 1e-6, 1.0))
def test_consistency_mutual_information_matches_symbolic(a: float, b, bn) -> None:
    kw = {"a_next": a, "b": float(b[0]), "b_next": float(bn[0])}
    got = float(FAST["consistency_mutual_information"](**kw))
    want = float(generated()["consistency_mutual_information"](**kw))
    # log1p(r) vs log((r b_n + b_n) / b_n): the generated form rounds 1 + r first, an
    # absolute error <~ 2 eps in the log; the fast form is accurate to ~ eps relative.
    assert abs(got - want) <= 4 * EPS + RTOL * abs(want)
    swapped = 0.5 * math.log((a * a * kw["b_next"] + kw["b"]) / kw["b"])  # planted: b's swapped
    if abs(swapped - want) > 1e-9:
        assert abs(swapped - got) > 4 * EPS + RTOL * abs(want)


@given(gamma=floats_in(domains.REAL, -30.0, 30.0))
@example(gamma=0.0)
def test_alpha_bar_of_gamma_matches_symbolic(gamma: float) -> None:
    got = float(FAST["alpha_bar_of_gamma"](gamma=gamma))
    want = float(generated()["alpha_bar_of_gamma"](gamma=gamma))
    # 1 / (exp(g) + 1) and expit(-g): a few roundings each, no cancellation for |g| <= 30.
    assert got == pytest.approx(want, rel=RTOL)
    # SNR from alpha_bar forms 1 - alpha_bar: relative error <~ 4 eps / (1 - alpha_bar).
    assert float(FAST["snr"](alpha_bar=got)) == pytest.approx(
        math.exp(-gamma), rel=4 * EPS / float(special.expit(gamma)) + 1e-14)
    slip = 1 / (math.exp(-gamma) + 1)  # planted: sigmoid(+gamma)
    if abs(gamma) > 1e-6:
        assert slip != pytest.approx(want, rel=RTOL)
