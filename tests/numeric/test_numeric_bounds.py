"""S2/S3 checks of the bound derivations (elbo-decomposition, elbo-gap, vae-elbo,
cross-entropy) on models where every quantity is exact: a 1-D linear-Gaussian DDPM
(tests/numeric/linear_gaussian.py), a linear-Gaussian VAE, and discrete/Gaussian
distributions.  Each check is also fed a planted wrong variant that it must reject."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from linear_gaussian import LinearDDPM
from scipy import stats

from ddpm_theory import domains
from ddpm_theory.numeric import (
    gauss_hermite,
    kl_mvn,
    kl_normal,
    normal_entropy,
    normal_log_density,
)
from ddpm_theory.numeric.formulas import FAST, posterior_variance, schedule_quantities
from ddpm_theory.testing.strategies import (
    EDGE_SCHEDULES,
    ScheduleKind,
    floats_in,
    means,
    schedule,
    schedules,
    seeds,
    variances,
)

EPS = np.finfo(np.float64).eps
WELL_CONDITIONED = (ScheduleKind.RANDOM, ScheduleKind.LINEAR, ScheduleKind.COSINE)


@st.composite
def linear_ddpms(draw, max_steps: int = 6, kinds=WELL_CONDITIONED) -> LinearDDPM:
    """A schedule and an arbitrary (not optimal) linear-Gaussian reverse model."""
    betas = draw(schedules(max_steps=max_steps, kinds=kinds))
    T = betas.size
    a = np.array([draw(floats_in(domains.REAL, -1.5, 1.5)) for _ in range(T)])
    s2 = draw(variances(T, lo=1e-2, hi=10.0))
    return LinearDDPM(betas, a, s2)


def _model(name: str, a: float = 0.8, s2: float = 0.3) -> LinearDDPM:
    b = EDGE_SCHEDULES[name]
    return LinearDDPM(b, np.full(b.size, a), np.full(b.size, s2))


# ---------------------------------------------------------------------------
# elbo-decomposition: pointwise along trajectories (S2), then in expectation (S3)


def _conditioning_allowance(model: LinearDDPM, x: np.ndarray) -> np.ndarray:
    """First-order rounding budget of the alpha_bar-parameterised formulas.

    1 - alpha_bar formed from float alpha_bar has relative error <= (t + 2) eps / (1 - ab)
    (test_alpha_bar_parameterisation_conditioning), so the posterior mean and variance
    carry relative errors delta_t ~ 4 (t + 2) eps / (1 - ab_{t-1}).  A relative error
    delta in the variance v and mean m of log N(y; m, v) moves it by
    delta (1 + (y - m)^2 / v + 2 |m| |y - m| / v) / 2; summed over the terms."""
    sq = schedule_quantities(model.betas)
    allow = np.zeros(x.shape[0])
    x0 = x[:, 0]
    for t in range(1, model.T + 1):
        om = sq.one_minus_alpha_bar[t - 1] if t == model.T else sq.one_minus_alpha_bar[t - 2]
        if t == 1 and t != model.T:
            continue  # L_0 uses no alpha_bar
        delta = 4 * (t + 2) * EPS / om
        if t == model.T:  # L_T: q(x_T | x_0)
            m, v, y = math.sqrt(sq.alpha_bar[-1]) * x0, 1 - sq.alpha_bar[-1], x[:, t]
            allow += delta * (1 + (y - m) ** 2 / v + 2 * np.abs(m * (y - m)) / v)
        if t >= 2:  # L_{t-1}: the posterior
            kw = sq.at(t)
            c0 = FAST["posterior_mean_coef_x0"](beta=kw["beta"], alpha_bar=kw["alpha_bar"],
                                                alpha_bar_prev=kw["alpha_bar_prev"])
            ct = FAST["posterior_mean_coef_xt"](alpha=kw["alpha"], alpha_bar=kw["alpha_bar"],
                                                alpha_bar_prev=kw["alpha_bar_prev"])
            v = FAST["posterior_variance"](beta=kw["beta"], alpha_bar=kw["alpha_bar"],
                                           alpha_bar_prev=kw["alpha_bar_prev"])
            m, y = c0 * x0 + ct * x[:, t], x[:, t - 1]
            d_t = 4 * (t + 2) * EPS * (1 / sq.one_minus_alpha_bar[t - 2]
                                       + 1 / sq.one_minus_alpha_bar[t - 1])
            allow += d_t * (1 + (y - m) ** 2 / v + 2 * (np.abs(c0 * x0) + np.abs(ct * x[:, t]))
                            * np.abs(y - m) / v)
    return allow


@given(model=linear_ddpms(kinds=tuple(ScheduleKind)), x0=floats_in(domains.REAL, -3, 3),
       seed=seeds())
@example(model=_model("linear_T10"), x0=1.0, seed=0)
@example(model=_model("zero_terminal_snr_T10"), x0=-2.0, seed=1)
@example(model=_model("single_step"), x0=0.5, seed=2)
def test_decomposition_holds_pointwise(model: LinearDDPM, x0: float, seed: int) -> None:
    """log q(x_{1:T}|x_0) - log p(x_{0:T}) = L_T + sum_{t>1} L_{t-1} + L_0 on each path."""
    eps = np.random.default_rng(seed).standard_normal((200, model.T))
    x = model.forward(x0, eps)
    lhs = model.log_q_path(x) - model.log_p_path(x)
    terms = model.decomposition_terms(x)
    # rtol 1e-10 (S2) relative to the magnitudes being summed on either side.
    scale = np.abs(terms).sum(axis=1) + np.abs(model.log_q_path(x)) + np.abs(model.log_p_path(x))
    tol = 1e-10 * (1 + scale) + _conditioning_allowance(model, x)
    np.testing.assert_array_less(np.abs(lhs - terms.sum(axis=1)), tol)
    # Planted: beta_t for beta_tilde_t in every posterior term.  Where it moves the sum
    # by more than 2 tol, the check above (error <= tol on the truth) must reject it.
    if model.T >= 2:
        wrong = model.decomposition_terms(x, posterior_var=lambda b, ab, abp: b).sum(axis=1)
        moved = np.abs(wrong - terms.sum(axis=1)) > 2 * tol
        assert np.all(np.abs(lhs - wrong)[moved] > tol[moved])


@given(model=linear_ddpms(max_steps=5), x0=floats_in(domains.REAL, -3, 3))
@example(model=_model("cosine_T10"), x0=1.0)
def test_decomposition_in_expectation(model: LinearDDPM, x0: float) -> None:
    """Ho et al. Eq. 5 with closed-form KL terms equals E_q of the path log-ratio,
    computed by tensor Gauss--Hermite over the T noises (2 nodes: exact, since the
    log-ratio is quadratic in them).  T <= 10 keeps the 2^T grid small."""
    def log_ratio(z: np.ndarray) -> np.ndarray:
        x = model.forward(x0, z)
        return model.log_q_path(x) - model.log_p_path(x)

    q = gauss_hermite(log_ratio, model.T, 2, error_check=False).value
    exact = model.bound_by_terms(x0)
    # Rounding of the summed log-densities (each |.| <~ 50 here; T + 1 of them per path,
    # 2^T paths with weights summing to 1): 1e-10 relative to 1 + |L| is ample.
    assert abs(q - exact) <= 1e-10 * (1 + abs(exact)) * model.T
    # Planted: beta_t for beta_tilde_t changes the closed-form sum by the KL's variance part.
    wrong = _bound_with_beta_for_beta_tilde(model, x0)
    if abs(wrong - exact) > 1e-6 * (1 + abs(exact)):
        assert abs(q - wrong) > 1e-10 * (1 + abs(exact)) * model.T


def _bound_with_beta_for_beta_tilde(model: LinearDDPM, x0: float) -> float:
    return model.bound_by_terms(x0, posterior_var=lambda b, ab, abp: b)


def test_planted_decomposition_slip_changes_the_bound() -> None:
    """Power of the expectation check: the slip moves L by far more than its tolerance."""
    m = _model("cosine_T10")
    assert abs(_bound_with_beta_for_beta_tilde(m, 1.0) - m.bound_by_terms(1.0)) > 1e-3


# ---------------------------------------------------------------------------
# elbo-gap: L(x_0) + log p(x_0) = KL(q(x_{1:T}|x_0) || p(x_{1:T}|x_0)) >= 0, and the anchor


@given(model=linear_ddpms(), x0=floats_in(domains.REAL, -3, 3))
@example(model=_model("cosine_T10"), x0=1.0)
def test_bound_gap_is_the_path_kl(model: LinearDDPM, x0: float) -> None:
    L = model.bound_by_terms(x0)
    nll = model.neg_log_likelihood(x0)
    gap = model.gap(x0)
    mq, cq = model.q_joint(x0)
    # kl_mvn loses ~ d kappa eps relative (Cholesky solves); kappa of the path covariance.
    kappa = np.linalg.cond(cq) * np.linalg.cond(model.p_conditional(x0)[1])
    # plus the alpha_bar parameterisation's relative error (T + 2) eps / (1 - alpha_bar)
    # in the closed-form terms of L (see _conditioning_allowance)
    omab = float(np.min(schedule_quantities(model.betas).one_minus_alpha_bar))
    tol = (64 * model.T * kappa * EPS + 4 * (model.T + 2) * EPS / omab) * (1 + abs(L) + abs(nll))
    assert gap >= -tol
    assert L >= nll - tol  # the bound: L >= -log p_theta(x_0)
    assert abs((L - nll) - gap) <= tol
    # Planted: the gap as the reverse KL(p || q) -- a different number in general.
    mp, cp = model.p_conditional(x0)
    reverse = kl_mvn(mp, cp, mq, cq)
    if abs(reverse - gap) > 1e3 * tol:
        assert abs((L - nll) - reverse) > tol


@pytest.mark.parametrize("n_steps", [1, 2, 10, 1000])
@pytest.mark.parametrize("kind", [ScheduleKind.LINEAR, ScheduleKind.COSINE])
def test_exact_anchor_is_tight_on_every_path(kind: ScheduleKind, n_steps: int) -> None:
    """N(0,1) data, exact posterior-mean reverse process, s2_t = beta_t: the path log-ratio
    is -log N(x_0; 0, 1) on every trajectory, with zero variance (docs/verification.md anchor)."""
    betas = schedule(kind, n_steps)
    model = LinearDDPM.exact(betas)
    rng = np.random.default_rng(n_steps)
    for x0 in (-2.5, 0.0, 1.3):
        x = model.forward(x0, rng.standard_normal((50, n_steps)))
        ratio = model.log_q_path(x) - model.log_p_path(x)
        target = -float(normal_log_density(x0, 0.0, 1.0))
        # 2T log-densities of size <~ |log beta| + O(1) each are summed: error ~ T eps * 20.
        np.testing.assert_allclose(ratio, target, rtol=0, atol=64 * n_steps * 20 * EPS)
        if n_steps <= 10:
            assert model.bound_by_terms(x0) == pytest.approx(target, abs=1e-12 * n_steps)
            assert model.neg_log_likelihood(x0) == pytest.approx(target, abs=1e-12 * n_steps)
    # Planted: s2_t = beta_tilde_t (t >= 2) instead of beta_t -- the path ratio varies.
    if n_steps >= 2:
        bt = posterior_variance(betas, np.cumprod(1 - betas),
                                np.concatenate([[1.0], np.cumprod(1 - betas)[:-1]]))
        wrong = LinearDDPM(betas, model.a, np.concatenate([[betas[0]], bt[1:]]))
        x = wrong.forward(1.0, rng.standard_normal((50, n_steps)))
        r = wrong.log_q_path(x) - wrong.log_p_path(x)
        assert np.ptp(r) > 1e3 * 64 * n_steps * 20 * EPS


# ---------------------------------------------------------------------------
# vae-elbo: linear-Gaussian VAE p(z) = N(0,1), p(x|z) = N(w z, s2), arbitrary encoder


@given(w=floats_in(domains.REAL, -3, 3), s2=variances(1, 1e-2, 10.0),
       x=floats_in(domains.REAL, -4, 4), m=floats_in(domains.REAL, -3, 3),
       v=variances(1, 1e-3, 10.0))
@example(w=1.0, s2=np.array([1.0]), x=0.5, m=0.25, v=np.array([0.5]))  # q = exact posterior
def test_vae_elbo_identity(w: float, s2: np.ndarray, x: float, m: float, v: np.ndarray) -> None:
    s2_, v_ = float(s2[0]), float(v[0])
    recon = gauss_hermite(  # E_q[log p(x|z)], quadratic in z: 2 nodes are exact
        lambda z: normal_log_density(x, w * (m + math.sqrt(v_) * z[:, 0]), s2_), 1, 2,
        error_check=False).value
    elbo = recon - float(kl_normal(m, v_, 0.0, 1.0))
    log_px = float(normal_log_density(x, 0.0, w * w + s2_))
    post_m, post_v = w * x / (w * w + s2_), s2_ / (w * w + s2_)
    gap = float(kl_normal(m, v_, post_m, post_v))
    # Terms of size |log s2|, (x - w z)^2 / s2 at |z| <= 1, KLs: 1e-12 relative to their sum.
    scale = 1 + abs(recon) + abs(log_px) + gap + float(kl_normal(m, v_, 0.0, 1.0))
    assert abs(elbo + gap - log_px) <= 1e-12 * scale
    assert elbo <= log_px + 1e-12 * scale
    # Planted: the prior KL added instead of subtracted.
    wrong = recon + float(kl_normal(m, v_, 0.0, 1.0))
    if float(kl_normal(m, v_, 0.0, 1.0)) > 1e-9 * scale:
        assert abs(wrong + gap - log_px) > 1e-12 * scale


# ---------------------------------------------------------------------------
# cross-entropy: H(p, q) = H(p) + KL(p || q) >= H(p)


@given(seed=seeds(), n=st.integers(2, 12))
def test_cross_entropy_discrete(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    p, q = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
    h_pq = float(-np.sum(p * np.log(q)))
    h_p, kl = float(stats.entropy(p)), float(stats.entropy(p, q))  # scipy: independent
    scale = 1 + float(np.sum(p * np.abs(np.log(q)))) + float(np.sum(p * np.abs(np.log(p))))
    assert abs(h_pq - (h_p + kl)) <= 16 * n * EPS * scale  # n-term sums, a few eps each
    assert h_pq >= h_p - 16 * n * EPS * scale
    # Planted: H(q) in place of H(p).
    wrong = float(stats.entropy(q)) + kl
    if abs(float(stats.entropy(q)) - h_p) > 1e-9:
        assert abs(h_pq - wrong) > 16 * n * EPS * scale


@given(m1=means(1), v1=variances(1), m2=means(1), v2=variances(1))
def test_cross_entropy_gaussian(m1, v1, m2, v2) -> None:
    a, b, c, d = float(m1[0]), float(v1[0]), float(m2[0]), float(v2[0])
    h_pq = gauss_hermite(lambda z: -normal_log_density(a + math.sqrt(b) * z[:, 0], c, d),
                         1, 2, error_check=False).value
    h_p, kl = float(normal_entropy(b)), float(kl_normal(a, b, c, d))
    scale = 1 + abs(math.log(d)) + (abs(a - c) + math.sqrt(b)) ** 2 / d + abs(h_p) + kl
    assert abs(h_pq - (h_p + kl)) <= 64 * EPS * scale
    wrong = float(normal_entropy(d)) + kl  # planted: entropy of q
    if abs(math.log(d / b)) > 1e-6:
        assert abs(h_pq - wrong) > 64 * EPS * scale
