"""Numeric twins of the score derivations, on non-Gaussian data laws.

* tweedie-any-law: E[x_0|x_t] by quadrature against Tweedie's right-hand side with the score
  by Richardson-extrapolated finite differences, for a uniform + Laplace data law (kinks,
  no Gaussian part); a planted slip (ᾱ for √ᾱ) is rejected at the same tolerance.
* score-eps-equivalence: Monte-Carlo orthogonality E[(ε − ε*(x_t)) h(x_t)] = 0 on a
  three-component Gaussian mixture, and the sign slip rejected with stated power.
* analytic-dpm-variance: β̃_t + c_0² E Var[x_0|x_t] (posterior variances, no score) equals
  Bao et al.'s form through E(∇ log q_t)², by quadrature.
* denoising-score-matching: DSM − ESM is the same for two different models.
* classifier-guidance: the guided score by finite differences of log(p p(y|x)^γ).
* guided-density: the normaliser, mean and variance of p(x) p(y|x)^γ by quadrature for
  γ ≥ 0, and the divergence of its integral for γ < −τ/v.

Deterministic checks use tolerances from the quadrature's own error estimates (stated at
each check); the Monte-Carlo check uses the acceptance rules (false-alarm budget 1e-6).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from ddpm_theory.numeric import (
    active_examples,
    check_agreement,
    gauss_hermite,
    sample_mean,
)

# A non-Gaussian law: 0.3 Uniform(−2, −1) + 0.7 Laplace(1, 0.5).
U_W, LAP_W, LAP_M, LAP_B = 0.3, 0.7, 1.0, 0.5
PIECES = ((-2.0, -1.0), (-np.inf, LAP_M), (LAP_M, np.inf))


def q0_pieces(x0: float) -> tuple[float, float]:
    """(uniform part, Laplace part) of the data density at x0."""
    u = U_W if -2.0 <= x0 <= -1.0 else 0.0
    return u, LAP_W * math.exp(-abs(x0 - LAP_M) / LAP_B) / (2 * LAP_B)


def kernel(x: float, x0: float, ab: float) -> float:
    v = 1 - ab
    return math.exp(-(x - math.sqrt(ab) * x0) ** 2 / (2 * v)) / math.sqrt(2 * math.pi * v)


def moment(x: float, ab: float, k: int) -> tuple[float, float]:
    """∫ x0^k q0(x0) N(x; √ab x0, 1 − ab) dx0 and its error bound (quad's, summed)."""
    total, err = 0.0, 0.0
    for j, (lo, hi) in enumerate(PIECES):
        def f(x0: float, j: int = j) -> float:
            part = q0_pieces(x0)[0 if j == 0 else 1]
            return x0**k * part * kernel(x, x0, ab)
        val, e = integrate.quad(f, lo, hi, epsabs=1e-13, epsrel=1e-12, limit=200)
        total, err = total + val, err + e
    return total, err


def score_fd(x: float, ab: float, h: float = 2e-3) -> tuple[float, float]:
    """d/dx log q_t by central differences at h and h/2, Richardson-extrapolated; the error
    estimate is the difference between the extrapolated and the finer value."""
    def logq(y: float) -> float:
        return math.log(moment(y, ab, 0)[0])

    d1 = (logq(x + h) - logq(x - h)) / (2 * h)
    d2 = (logq(x + h / 2) - logq(x - h / 2)) / h
    rich = (4 * d2 - d1) / 3
    return rich, abs(rich - d2)


CASES = [(x, ab) for ab in (0.2, 0.6, 0.95) for x in (-2.0, -0.5, 0.7, 2.5)]


@pytest.mark.parametrize("x,ab", CASES)
def test_tweedie_any_law_by_quadrature(x: float, ab: float) -> None:
    m0, e0 = moment(x, ab, 0)
    m1, e1 = moment(x, ab, 1)
    post = m1 / m0
    post_err = (e1 + abs(post) * e0) / m0
    s, s_err = score_fd(x, ab)
    tweedie = (x + (1 - ab) * s) / math.sqrt(ab)
    # tolerance: 10 x (quadrature bound + the score's extrapolation error, propagated)
    tol = 10 * (post_err + (1 - ab) * s_err / math.sqrt(ab)) + 1e-9
    assert abs(tweedie - post) <= tol, (tweedie, post, tol)
    slip = (x + (1 - ab) * s) / ab                 # ᾱ for √ᾱ
    assert abs(slip - post) > 10 * tol   # rejected, with a margin of 10


# ---------------------------------------------------------------------------
# A three-component Gaussian mixture: closed-form marginal and score.
W3 = np.array([0.2, 0.5, 0.3])
M3 = np.array([-2.0, 0.5, 3.0])
V3 = np.array([0.1, 0.4, 0.2])
N = 40_000


def mix_score(x: np.ndarray, ab: float) -> np.ndarray:
    m, v = math.sqrt(ab) * M3, ab * V3 + 1 - ab
    logc = np.log(W3) - 0.5 * np.log(v) - (x[:, None] - m) ** 2 / (2 * v)
    r = np.exp(logc - logc.max(axis=1, keepdims=True))
    r /= r.sum(axis=1, keepdims=True)
    return np.sum(r * (m - x[:, None]) / v, axis=1)


def mix_density(x: float, ab: float) -> float:
    m, v = math.sqrt(ab) * M3, ab * V3 + 1 - ab
    return float(np.sum(W3 * np.exp(-(x - m) ** 2 / (2 * v)) / np.sqrt(2 * np.pi * v)))


def sample_mixture(rng: np.random.Generator, ab: float, n: int):
    k = rng.choice(3, size=n, p=W3)
    x0 = M3[k] + np.sqrt(V3[k]) * rng.standard_normal(n)
    eps = rng.standard_normal(n)
    return x0, eps, math.sqrt(ab) * x0 + math.sqrt(1 - ab) * eps


def _orthogonal(r: np.ndarray, xt: np.ndarray, n_ex: int) -> list[bool]:
    out = []
    for h in (np.ones_like(xt), xt, np.tanh(xt)):
        # sample_mean carries the summands' skewness: the skewness-corrected rule
        out.append(check_agreement(sample_mean(r * h), 0.0, budget=1e-6 / 3,
                                   n_examples=n_ex).agrees)
    return out


@pytest.mark.statistical
@pytest.mark.parametrize("ab", [0.3, 0.8])
def test_best_eps_predictor_is_minus_scaled_score(ab: float, seed: int) -> None:
    """ε*(x_t) = −√(1 − ᾱ) ∇ log q_t(x_t) is E[ε|x_t]: ε − ε* is orthogonal to functions
    of x_t (z-tests, per-test budget 1e-6 split over three moments)."""
    rng = np.random.default_rng(seed)
    _, eps, xt = sample_mixture(rng, ab, N)
    star = -math.sqrt(1 - ab) * mix_score(xt, ab)
    n_ex = active_examples(1)
    assert all(_orthogonal(eps - star, xt, n_ex))
    # planted: the sign slip +√(1 − ᾱ) ∇ log q_t.  Its shift of the h = x_t moment is
    # E[ε x_t] − √(1 − ᾱ) E[s x_t] = 2 √(1 − ᾱ) (E[s x_t] = −1, by parts); the check is
    # powerful for it (power ≥ 1 − 1e-3 on the longer side of the skewness-corrected
    # interval, with a 10 % allowance on the slipped sample's SE), and the slip fails.
    slip = eps - math.sqrt(1 - ab) * mix_score(xt, ab)   # ε minus the slipped predictor
    report = check_agreement(sample_mean(slip * xt), 0.0, must_detect=2 * math.sqrt(1 - ab) / 1.1,
                             budget=1e-6 / 3, n_examples=n_ex)
    assert report.powerful, report.describe()
    assert not all(_orthogonal(slip, xt, n_ex))


def _expect_qt(f, ab: float) -> tuple[float, float]:
    """∫ q_t(x) f(x) dx by adaptive quadrature (value, error bound)."""
    val, err = integrate.quad(lambda x: mix_density(x, ab) * f(x), -np.inf, np.inf,
                              epsabs=1e-12, epsrel=1e-11, limit=400)
    return val, err


def _posterior_var_x0(x: float, ab: float) -> float:
    """Var[x_0|x_t = x] for the mixture: responsibilities and component posteriors."""
    m, v = math.sqrt(ab) * M3, ab * V3 + 1 - ab
    logc = np.log(W3) - (x - m) ** 2 / (2 * v) - 0.5 * np.log(v)
    r = np.exp(logc - logc.max())
    r /= r.sum()
    pm = M3 + math.sqrt(ab) * V3 * (x - m) / v
    pv = V3 * (1 - ab) / v
    return float(np.sum(r * (pv + pm**2)) - np.sum(r * pm) ** 2)


@pytest.mark.parametrize("t_alpha,abar_prev", [(0.98, 0.7), (0.9, 0.2), (0.999, 0.95)])
def test_analytic_dpm_two_ways(t_alpha: float, abar_prev: float) -> None:
    ab, beta = abar_prev * t_alpha, 1 - t_alpha
    beta_tilde = (1 - abar_prev) / (1 - ab) * beta
    c0 = math.sqrt(abar_prev) * beta / (1 - ab)
    ev, ev_err = _expect_qt(lambda x: _posterior_var_x0(x, ab), ab)
    direct = beta_tilde + c0**2 * ev
    j, j_err = _expect_qt(lambda x: float(mix_score(np.array([x]), ab)[0]) ** 2, ab)
    gain = beta**2 / (t_alpha * (1 - ab))
    bao = beta_tilde + gain * (1 - (1 - ab) * j)
    tol = 10 * (c0**2 * ev_err + gain * (1 - ab) * j_err) + 1e-12
    assert abs(direct - bao) <= tol, (direct, bao, tol)
    # Bao et al.'s bounds (Theorem 2 context): β̃_t ≤ σ*² ≤ β̃_t + gain.  Not ≤ β_t: this
    # mixture's variance exceeds 1, and then the optimum can exceed Ho et al.'s upper choice
    assert beta_tilde <= bao <= beta_tilde + gain
    wrong = beta_tilde + gain * (1 - j)        # planted: β̄_t dropped
    assert abs(wrong - direct) > 100 * tol


def _dsm(p: tuple[float, float, float], ab: float) -> float:
    """E_{x_0, ε}(s(x_t) + ε/√(1 − ᾱ))², per component by 2-D Gauss–Hermite (the integrand
    is a polynomial of degree 4 in the Gaussians: exact at 3 nodes, checked at 6)."""
    total = 0.0
    for w, m, v in zip(W3, M3, V3):
        def f(z: np.ndarray, m: float = m, v: float = v) -> np.ndarray:
            x0 = m + math.sqrt(v) * z[:, 0]
            xt = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * z[:, 1]
            s = p[0] + p[1] * xt + p[2] * xt**2
            return (s + z[:, 1] / math.sqrt(1 - ab)) ** 2
        est = gauss_hermite(f, 2, 3)
        assert est.bias_bound < 1e-9 * (1 + abs(est.value))
        total += w * est.value
    return total


def _esm(p: tuple[float, float, float], ab: float) -> tuple[float, float]:
    return _expect_qt(lambda x: (p[0] + p[1] * x + p[2] * x * x
                                 - float(mix_score(np.array([x]), ab)[0])) ** 2, ab)


@pytest.mark.parametrize("ab", [0.3, 0.9])
def test_dsm_minus_esm_is_model_free(ab: float) -> None:
    models = [(0.1, -0.5, 0.02), (-1.0, 0.3, -0.1)]
    gaps, errs = [], []
    for p in models:
        esm, err = _esm(p, ab)
        gaps.append(_dsm(p, ab) - esm)
        errs.append(err)
    tol = 10 * sum(errs) + 1e-9 * (1 + abs(gaps[0]))
    assert abs(gaps[0] - gaps[1]) <= tol, (gaps, tol)
    # planted: regressing on +ε/√(1 − ᾱ) (the conditional score's sign slipped)
    slipped = [_dsm_slip(p, ab) - _esm(p, ab)[0] for p in models]
    assert abs(slipped[0] - slipped[1]) > 100 * tol


def _dsm_slip(p: tuple[float, float, float], ab: float) -> float:
    total = 0.0
    for w, m, v in zip(W3, M3, V3):
        def f(z: np.ndarray, m: float = m, v: float = v) -> np.ndarray:
            xt = math.sqrt(ab) * (m + math.sqrt(v) * z[:, 0]) + math.sqrt(1 - ab) * z[:, 1]
            return (p[0] + p[1] * xt + p[2] * xt**2 - z[:, 1] / math.sqrt(1 - ab)) ** 2
        total += w * gauss_hermite(f, 2, 3).value
    return total


def _fd(f, x: float, h: float = 1e-3) -> tuple[float, float]:
    d1 = (f(x + h) - f(x - h)) / (2 * h)
    d2 = (f(x + h / 2) - f(x - h / 2)) / h
    rich = (4 * d2 - d1) / 3
    return rich, abs(rich - d2)


@pytest.mark.parametrize("gamma", [0.0, 1.0, 3.0, -0.5])
@pytest.mark.parametrize("x", [-1.5, 0.2, 2.0])
def test_guided_score_by_finite_differences(gamma: float, x: float) -> None:
    """Class 1 of the mixture: p(x|y) = N_1, p(y|x) = w_1 N_1/p(x).  The score of
    p(x) p(y|x)^γ (finite differences of its log) is γ ∇ log p(x|y) + (1 − γ) ∇ log p(x)."""
    ab = 1.0  # the clean mixture itself
    m1, v1 = M3[0], V3[0]

    def log_cond(y: float) -> float:
        return -(y - m1) ** 2 / (2 * v1) - 0.5 * math.log(2 * math.pi * v1)

    def log_p(y: float) -> float:
        return math.log(mix_density(y, ab))

    def log_guided(y: float) -> float:
        return log_p(y) + gamma * (math.log(W3[0]) + log_cond(y) - log_p(y))

    lhs, err = _fd(log_guided, x)
    rhs = gamma * (-(x - m1) / v1) + (1 - gamma) * _fd(log_p, x)[0]
    tol = 10 * (err + abs(1 - gamma) * _fd(log_p, x)[1]) + 1e-8
    assert abs(lhs - rhs) <= tol, (lhs, rhs, tol)
    wrong = gamma * (-(x - m1) / v1) + _fd(log_p, x)[0]   # planted: (1 − γ) dropped
    if gamma != 0.0:
        assert abs(lhs - wrong) > 100 * tol


M_G, V_G, Y_G, TAU = 0.5, 2.0, -1.0, 0.5


def _guided_moments(gamma: float, lim: float = np.inf) -> tuple[float, float, float]:
    def unnorm(x: float) -> float:
        return math.exp(-(x - M_G) ** 2 / (2 * V_G) - gamma * (x - Y_G) ** 2 / (2 * TAU))

    z = integrate.quad(unnorm, -lim, lim, epsabs=0, epsrel=1e-12, limit=200)[0]
    m1 = integrate.quad(lambda x: x * unnorm(x), -lim, lim, epsabs=0, epsrel=1e-12,
                        limit=200)[0] / z
    m2 = integrate.quad(lambda x: x * x * unnorm(x), -lim, lim, epsabs=0, epsrel=1e-12,
                        limit=200)[0] / z
    return z, m1, m2 - m1**2


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 4.0])
def test_guided_density_is_the_stated_gaussian(gamma: float) -> None:
    p = 1 / V_G + gamma / TAU
    b = M_G / V_G + gamma * Y_G / TAU
    z, mean, var = _guided_moments(gamma)
    shift = b * b / (2 * p) - M_G**2 / (2 * V_G) - gamma * Y_G**2 / (2 * TAU)
    assert z == pytest.approx(math.sqrt(2 * math.pi / p) * math.exp(shift), rel=1e-9)
    assert mean == pytest.approx(b / p, rel=1e-9, abs=1e-10)
    assert var == pytest.approx(1 / p, rel=1e-9)


def test_guided_integral_diverges_below_minus_tau_over_v() -> None:
    gamma = -2 * TAU / V_G            # precision 1/v + γ/τ = −1/v < 0
    masses = [_guided_moments(gamma, lim)[0] for lim in (5.0, 10.0, 15.0)]
    # the integrand grows like exp(x²/(2v)): each widening multiplies the mass
    assert masses[1] > 1e4 * masses[0] and masses[2] > 1e4 * masses[1]
