"""Tweedie's formula and the score (S3 by Monte-Carlo on a Gaussian mixture), the
consistency term's mutual information (S3 by quadrature), and Luo's telescoping (S2)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from linear_gaussian import LinearDDPM
from numeric_helpers import chi2_power, chi2_rejects
from scipy.special import logsumexp

from ddpm_theory import domains
from ddpm_theory.numeric import (
    active_examples,
    check_agreement,
    gauss_hermite,
    normal_log_density,
    per_run_alpha,
    rejection_probability,
    sample_mean,
    skew_corrected_bounds,
    z_threshold,
)
from ddpm_theory.numeric.formulas import FAST, generated, schedule_quantities
from ddpm_theory.testing.strategies import EDGE_SCHEDULES, floats_in, seeds, variances

EPS = np.finfo(np.float64).eps
N = 40_000

# A bimodal mixture: weights, means, variances of x_0.
W, MU, S2 = np.array([0.3, 0.7]), np.array([-2.0, 1.0]), np.array([0.25, 0.5])


def mixture_score(xt: np.ndarray, ab: float) -> np.ndarray:
    """d/dx log q(x_t) for x_0 ~ mixture, q(x_t) = sum_k w_k N(sqrt(ab) mu_k, ab s_k + 1 - ab)."""
    m, v = math.sqrt(ab) * MU, ab * S2 + (1 - ab)
    logc = np.log(W) + normal_log_density(xt[:, None], m, v)
    r = np.exp(logc - logsumexp(logc, axis=1, keepdims=True))  # responsibilities
    return np.sum(r * (m - xt[:, None]) / v, axis=1)


def tweedie_mean(xt: np.ndarray, ab: float, noise_factor: float = 1.0) -> np.ndarray:
    """E[x_0 | x_t] = (x_t + (1 - ab) score) / sqrt(ab) (Tweedie; Efron 2011)."""
    return (xt + noise_factor * (1 - ab) * mixture_score(xt, ab)) / math.sqrt(ab)


def _orthogonality(x0, xt, f, n_ex) -> list[bool]:
    """E[(x_0 - f(x_t)) g(x_t)] = 0 for g in {1, x_t, tanh x_t}: the defining property of
    the conditional mean, checked by MC z-tests (SE from the sample sd, n = 4e4) under the
    skewness-corrected rule (the products are skewed: a sample-SE normal rule exceeds
    its level on skewed summands, test_numeric_tail)."""
    r = x0 - f
    out = []
    for g in (np.ones_like(xt), xt, np.tanh(xt)):
        est = sample_mean(r * g)
        out.append(check_agreement(est, 0.0, budget=1e-6 / 3, n_examples=n_ex).agrees)
    return out


@pytest.mark.statistical
@given(ab=floats_in(domains.ALPHA_BAR, 0.05, 0.95), seed=seeds())
@example(ab=0.5, seed=0)
def test_tweedie_is_the_conditional_mean(ab: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = rng.choice(2, size=N, p=W)
    x0 = MU[k] + np.sqrt(S2[k]) * rng.standard_normal(N)
    xt = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * rng.standard_normal(N)
    n_ex = active_examples(1)
    assert all(_orthogonality(x0, xt, tweedie_mean(xt, ab), n_ex))


def _slip_moment(ab: float, power: int, noise_factor: float) -> float:
    """E[((x_0 - f(x_t)) x_t)^power] for f = tweedie_mean(., ab, noise_factor), by 2-D
    Gauss--Hermite over (x_0, noise) within each mixture component (smooth integrand)."""
    total = 0.0
    for w, mu, s2 in zip(W, MU, S2):
        def f(z: np.ndarray, mu=mu, s2=s2) -> np.ndarray:
            x0 = mu + math.sqrt(s2) * z[:, 0]
            xt = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * z[:, 1]
            return ((x0 - tweedie_mean(xt, ab, noise_factor)) * xt) ** power
        est = gauss_hermite(f, 2, 40)
        assert est.bias_bound < 1e-8
        total += w * est.value
    return total


@pytest.mark.statistical
def test_tweedie_planted_slip_is_rejected(seed: int) -> None:
    """Planted: the score without its (1 - alpha_bar) factor.  Its shift of the g = x_t
    moment is E[(x_0 - f) x_t] = sqrt(alpha_bar) (E[score(x_t) x_t] = -1, by parts), the
    SE is the moment's sd / sqrt N (quadrature), and the power of that one z-test --
    computed with a 10 % allowance on the sample SE, and on the longer side of the
    skewness-corrected interval at twice the moment's skewness (quadrature) -- is
    >= 1 - 1e-3."""
    ab, slip = 0.5, 1 / (1 - 0.5)
    delta = _slip_moment(ab, 1, slip)
    assert delta == pytest.approx(math.sqrt(ab), rel=1e-8)
    var = _slip_moment(ab, 2, slip) - delta**2
    se = math.sqrt(var) / math.sqrt(N)
    m3 = _slip_moment(ab, 3, slip) - 3 * delta * var - delta**3
    lo, hi = skew_corrected_bounds(z_threshold(1e-6 / 3, active_examples()),
                                   2 * m3 / var**1.5, N)
    thr = max(-lo, hi)
    assert rejection_probability(delta, 1.1 * se, thr, true_stderr=se) >= 1 - 1e-3
    rng = np.random.default_rng(seed)
    k = rng.choice(2, size=N, p=W)
    x0 = MU[k] + np.sqrt(S2[k]) * rng.standard_normal(N)
    xt = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * rng.standard_normal(N)
    assert not all(_orthogonality(x0, xt, tweedie_mean(xt, ab, slip), active_examples()))


@pytest.mark.statistical
@given(ab=floats_in(domains.ALPHA_BAR, 0.01, 0.99), s2=variances(1, 0.05, 4.0), seed=seeds())
@example(ab=0.5, s2=np.array([0.25]), seed=0)
def test_best_eps_error_gaussian_data(ab: float, s2, seed: int) -> None:
    """MC of (eps - eps_hat*)^2 with eps_hat* = -sqrt(1 - ab) score(x_t), x_0 ~ N(0, s2)."""
    s = float(s2[0])
    rng = np.random.default_rng(seed)
    x0, eps = math.sqrt(s) * rng.standard_normal(N), rng.standard_normal(N)
    xt = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * eps
    eps_hat = math.sqrt(1 - ab) * xt / (ab * s + 1 - ab)  # -sqrt(1-ab) * (-x_t / Var x_t)
    y = (eps - eps_hat) ** 2
    exact = float(FAST["best_eps_error_gaussian_data"](alpha_bar=ab, data_var=s))
    gen = float(generated()["best_eps_error_gaussian_data"](alpha_bar=ab, data_var=s))
    assert abs(exact - gen) <= 1e-12 * exact  # S1 twin (also in test_numeric_formulas)
    # eps - eps_hat is linear in the Gaussians (x_0, eps), so it is N(0, exact) and
    # N mean(y) / exact ~ chi^2_N exactly: the closed-form SE is exact sqrt(2 / N).  The
    # exact chi^2_N law is used instead of the normal z-test with that SE, which exceeds
    # the per-run level by 6-11 % at N = 4e4 (test_numeric_tail).
    alpha = per_run_alpha(1e-6, active_examples(1))
    q_sum = float(y.sum())
    assert not chi2_rejects(q_sum / exact, N, alpha)
    wrong = (1 - ab) / (ab * s + 1 - ab)  # planted: noise share
    if abs(wrong - exact) > 0.1 * exact:
        # power against the slip, exact: q = N mean / wrong ~ (exact / wrong) chi^2_N
        # miss <= 1e-3 per test function: 1e-3 / n_ex per example
        assert chi2_power(exact / wrong, N, alpha) >= 1 - 1e-3 / active_examples(1)
        assert chi2_rejects(q_sum / wrong, N, alpha)


# ---------------------------------------------------------------------------
# consistency-term-corrected: I(x_t; x_{t+1} | x_{t-1})


@given(a=floats_in(domains.REAL, -1.0, 1.0), b=variances(1, 1e-3, 1.0),
       bn=variances(1, 1e-3, 1.0), xprev=floats_in(domains.REAL, -2, 2))
@example(a=0.9, b=np.array([0.1]), bn=np.array([0.05]), xprev=0.0)
def test_consistency_mutual_information(a: float, b, bn, xprev: float) -> None:
    """I = E[log p(x_{t+1}|x_t) - log p(x_{t+1}|x_{t-1})] over x_t, x_{t+1} given x_{t-1}
    (x_t ~ N(c x_{t-1}, b)), by 2-D Gauss--Hermite (exact: the integrand is quadratic)."""
    bv, bnv, c = float(b[0]), float(bn[0]), 0.8

    def f(z: np.ndarray) -> np.ndarray:
        xt = c * xprev + math.sqrt(bv) * z[:, 0]
        xn = a * xt + math.sqrt(bnv) * z[:, 1]
        return (normal_log_density(xn, a * xt, bnv)
                - normal_log_density(xn, a * c * xprev, a * a * bv + bnv))

    q = gauss_hermite(f, 2, 2, error_check=False).value
    mi = float(FAST["consistency_mutual_information"](a_next=a, b=bv, b_next=bnv))
    tol = 64 * EPS * (1 + abs(math.log(bnv)) + abs(math.log(a * a * bv + bnv)) + 4)
    assert abs(q - mi) <= tol
    swapped = 0.5 * math.log1p(a * a * bnv / bv)  # planted: b and b_next swapped
    if abs(swapped - mi) > 2 * tol:
        assert abs(q - swapped) > tol


# ---------------------------------------------------------------------------
# luo-telescoping: q(x_1|x_0) prod_{t>=2} q(x_{t-1}|x_t,x_0) q(x_t|x_0) / q(x_{t-1}|x_0)
#                  = q(x_T|x_0) prod_{t>=2} q(x_{t-1}|x_t,x_0)        (pointwise, S2)


def _log_marg(sq, t, x0, x):
    return normal_log_density(x, math.sqrt(sq.alpha_bar[t - 1]) * x0, sq.one_minus_alpha_bar[t - 1])


@given(n_steps=st.integers(2, 12), seed=seeds(), x0=floats_in(domains.REAL, -3, 3))
@example(n_steps=10, seed=0, x0=1.0)
def test_luo_telescoping_pointwise(n_steps: int, seed: int, x0: float) -> None:
    betas = EDGE_SCHEDULES["cosine_T10"] if n_steps == 10 else np.linspace(0.01, 0.3, n_steps)
    model = LinearDDPM.exact(betas)
    sq = schedule_quantities(betas)
    x = model.forward(x0, np.random.default_rng(seed).standard_normal((100, betas.size)))
    x0v = x[:, 0]
    post = np.zeros(x.shape[0])
    ratio = np.zeros(x.shape[0])
    for t in range(2, betas.size + 1):
        kw = sq.at(t)
        mu = (FAST["posterior_mean_coef_x0"](beta=kw["beta"], alpha_bar=kw["alpha_bar"],
                                             alpha_bar_prev=kw["alpha_bar_prev"]) * x0v
              + FAST["posterior_mean_coef_xt"](alpha=kw["alpha"], alpha_bar=kw["alpha_bar"],
                                               alpha_bar_prev=kw["alpha_bar_prev"]) * x[:, t])
        bt = FAST["posterior_variance"](beta=kw["beta"], alpha_bar=kw["alpha_bar"],
                                        alpha_bar_prev=kw["alpha_bar_prev"])
        post += normal_log_density(x[:, t - 1], mu, bt)
        ratio += _log_marg(sq, t, x0v, x[:, t]) - _log_marg(sq, t - 1, x0v, x[:, t - 1])
    lhs = _log_marg(sq, 1, x0v, x[:, 1]) + post + ratio
    rhs = _log_marg(sq, betas.size, x0v, x[:, -1]) + post
    scale = 1 + np.abs(post) + np.abs(ratio) + np.abs(lhs)
    np.testing.assert_array_less(np.abs(lhs - rhs), 1e-10 * scale)  # S2
    # Both equal the forward path density log q(x_{1:T} | x_0) (Bayes, step by step).
    np.testing.assert_array_less(np.abs(lhs - model.log_q_path(x)), 1e-10 * scale)
    # Planted: q(x_1|x_0) kept on the right-hand side after telescoping.
    wrong = rhs + _log_marg(sq, 1, x0v, x[:, 1])
    moved = np.abs(wrong - rhs) > 2e-10 * scale
    assert moved.any() and np.all(np.abs(lhs - wrong)[moved] > 1e-10 * scale[moved])


# ---------------------------------------------------------------------------
# continuous-time: sum_i (SNR(s_i) - SNR(t_i)) h(t_i) / 2 -> -(1/2) int_0^1 SNR'(t) h(t) dt


def _discrete_bound(n_steps: int, g0: float, g1: float, h, sign: float = 1.0) -> float:
    """The x_0-weighted diffusion loss with sigma_t^2 = beta_tilde_t (loss-weights) at T
    steps, for log-SNR gamma(t) = g0 + g1 t (SNR = exp(-gamma)) and error curve h(t)."""
    t = np.arange(1, n_steps + 1) / n_steps
    snr = lambda u: np.exp(-(g0 + g1 * u))  # noqa: E731
    return float(np.sum(sign * 0.5 * (snr(t - 1 / n_steps) - snr(t)) * h(t)))


@given(g0=floats_in(domains.REAL, -5.0, 0.0), g1=floats_in(domains.POSITIVE, 1.0, 12.0))
@example(g0=-4.0, g1=10.0)
def test_continuous_time_limit(g0: float, g1: float) -> None:
    """The sum converges to the integral at rate O(1/T): the error at T is within a
    factor (2 +- 0.1) of the error at 2T for T >= 2000 (first-order Richardson), and the
    integral equals its SNR-variable form (1/2) int_{SNR(1)}^{SNR(0)} h(t(v)) dv."""
    from scipy import integrate

    h = lambda u: 1.0 + u * u  # noqa: E731  (a smooth stand-in for ||x_0 - x0_hat(t)||^2)
    snr_prime = lambda u: -g1 * math.exp(-(g0 + g1 * u))  # noqa: E731
    opts = {"epsabs": 0.0, "epsrel": 1e-13, "limit": 200}
    integral = integrate.quad(lambda u: -0.5 * snr_prime(u) * h(u), 0.0, 1.0, **opts)[0]
    t_of_v = lambda v: (-math.log(v) - g0) / g1  # noqa: E731
    in_v = 0.5 * integrate.quad(lambda v: h(t_of_v(v)), math.exp(-(g0 + g1)), math.exp(-g0),
                                **opts)[0]
    assert in_v == pytest.approx(integral, rel=1e-10)  # quad's rtol 1e-13, x1000 margin
    e1, e2 = (_discrete_bound(n, g0, g1, h) - integral for n in (2000, 4000))
    assert abs(e1) < 0.05 * integral  # it converges ...
    assert e1 / e2 == pytest.approx(2.0, abs=0.1)  # ... at first order
    # alpha_bar = sigmoid(-gamma) reproduces SNR = exp(-gamma) (the export's meaning).
    ab = FAST["alpha_bar_of_gamma"](gamma=g0 + g1 * 0.5)
    assert float(FAST["snr"](alpha_bar=ab)) == pytest.approx(math.exp(-(g0 + g1 * 0.5)),
                                                            rel=1e-9)
    # Planted: SNR(t) - SNR(s) (the order of the difference flipped) tends to -integral.
    wrong = _discrete_bound(4000, g0, g1, h, sign=-1.0)
    assert abs(wrong - integral) > 1.5 * integral
