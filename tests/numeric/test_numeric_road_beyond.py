"""Numeric twins of the derivations beyond the sources: DDIM's marginals by simulation,
DDIM's sampler pointwise against DDPM's, the probability-flow ODE integrated for Gaussian
data against its marginal, the strided chain's posterior by regression and its weights on
real schedules, the continuous-time remainder by quadrature against its C/T bound, and
VDM's schedule invariance by quadrature with the Gaussian-data error 1/(1 + SNR).

Each check is independent of the symbolic derivation it twins (NumPy/SciPy, never the
SymPy expressions), and each has a planted wrong variant it must reject."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from test_numeric_derivations import Law, law_failures, slip_detectable

from ddpm_theory.backend.schedule import Schedule
from ddpm_theory.numeric import Estimate, Method, check_agreement, per_run_alpha

N = 20_000
EPS = np.finfo(np.float64).eps


# ---------------------------------------------------------------------------
# ddim-marginals: run q_sigma from x_T down, compare the law of x_t with DDPM's marginal


def _ddim_chain(sched: Schedule, x0: float, rho: float, stop: int, rng) -> np.ndarray:
    """x_T ~ N(sqrt(ab_T) x0, 1 - ab_T), then x_{t-1} ~ q_sigma(.|x_t, x0) (DDIM Eq. 7)
    with sigma_t^2 = rho (1 - ab_{t-1}), for t = T, ..., stop + 1; returns x_stop."""
    ab = np.concatenate([[1.0], sched.alpha_bar])  # ab[t] = alpha_bar_t, ab[0] = 1
    T = sched.T
    x = math.sqrt(ab[T]) * x0 + math.sqrt(1 - ab[T]) * rng.standard_normal(N)
    for t in range(T, stop, -1):
        s2 = rho * (1 - ab[t - 1])
        c = math.sqrt(1 - ab[t - 1] - s2) / math.sqrt(1 - ab[t])
        x = (math.sqrt(ab[t - 1]) * x0 + c * (x - math.sqrt(ab[t]) * x0)
             + math.sqrt(s2) * rng.standard_normal(N))
    return x


@pytest.mark.statistical
@pytest.mark.parametrize("rho", [0.0, 0.3, 0.999])
def test_ddim_chain_keeps_the_ddpm_marginals(rho: float, seed: int) -> None:
    sched, x0, stop = Schedule.linear(50, beta_start=1e-3, beta_end=0.2), 1.5, 10
    x = _ddim_chain(sched, x0, rho, stop, np.random.default_rng(seed))
    ab = float(sched.alpha_bar[stop - 1])
    true = Law(math.sqrt(ab) * x0, 1 - ab)
    n_ex = 3  # the three parametrised examples share the budget
    assert law_failures(x, true, n_ex) == []
    # planted slip: the law of x_stop claimed with the *next* step's alpha_bar
    ab_next = float(sched.alpha_bar[stop])
    slip = Law(math.sqrt(ab_next) * x0, 1 - ab_next)
    assert slip_detectable(true, slip, N, n_ex)  # power is computed, not hoped for
    assert law_failures(x, slip, n_ex)


@pytest.mark.statistical
def test_ddim_without_the_square_root_loses_the_marginals(seed: int) -> None:
    """The plausible slip c = (1 - ab_{t-1} - sigma^2)/(1 - ab_t) (no square root) gives a
    chain whose x_stop is not DDPM's marginal: the same test rejects it."""
    sched, x0, stop, rho = Schedule.linear(50, beta_start=1e-3, beta_end=0.2), 1.5, 10, 0.3
    ab = np.concatenate([[1.0], sched.alpha_bar])
    rng = np.random.default_rng(seed)
    x = math.sqrt(ab[-1]) * x0 + math.sqrt(1 - ab[-1]) * rng.standard_normal(N)
    for t in range(sched.T, stop, -1):
        s2 = rho * (1 - ab[t - 1])
        c = (1 - ab[t - 1] - s2) / (1 - ab[t])
        x = (math.sqrt(ab[t - 1]) * x0 + c * (x - math.sqrt(ab[t]) * x0)
             + math.sqrt(s2) * rng.standard_normal(N))
    true = Law(math.sqrt(ab[stop]) * x0, 1 - ab[stop])
    assert law_failures(x, true, 1)


# ---------------------------------------------------------------------------
# ddim-sampler: pointwise (S2), common random numbers


def test_ddim_sampler_is_ddpm_at_beta_tilde_and_exact_at_sigma_zero() -> None:
    sched = Schedule.cosine(100)
    rng = np.random.default_rng(0)
    x0, eps = rng.standard_normal(64), rng.standard_normal(64)
    for t in (2, 10, 50, 99):  # paper timesteps; array index t - 1
        ab, abp, a, b = (float(v[t - 1]) for v in (sched.alpha_bar, sched.alpha_bar_prev,
                                                   sched.alphas, sched.betas))
        bt = float(sched.beta_tilde[t - 1])
        xt = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * eps
        x0_hat = (xt - math.sqrt(1 - ab) * eps) / math.sqrt(ab)
        ddim_mean = math.sqrt(abp) * x0_hat + math.sqrt(1 - abp - bt) * eps  # Eq. 12
        ddpm_mean = (xt - b / math.sqrt(1 - ab) * eps) / math.sqrt(a)      # Ho Eq. 11
        post_mean = (math.sqrt(abp) * b / (1 - ab) * x0
                     + math.sqrt(a) * (1 - abp) / (1 - ab) * xt)           # Ho Eq. 7
        tol = 1e-12 * (1 + np.abs(xt)) / math.sqrt(a * (1 - ab))  # 1/sqrt(alpha(1-ab)) gain
        assert np.all(np.abs(ddim_mean - ddpm_mean) <= tol)
        assert np.all(np.abs(ddpm_mean - post_mean) <= tol)
        # sigma = 0 with the exact eps: x_{t-1} lands on the forward path of the same eps
        ddim0 = math.sqrt(abp) * x0_hat + math.sqrt(1 - abp) * eps
        assert np.allclose(ddim0, math.sqrt(abp) * x0 + math.sqrt(1 - abp) * eps,
                           rtol=0, atol=1e-12 / math.sqrt(ab))
        # planted slip: sqrt(1 - ab_{t-1}) where sqrt(1 - ab_{t-1} - sigma^2) belongs
        wrong = math.sqrt(abp) * x0_hat + math.sqrt(1 - abp) * eps
        assert np.max(np.abs(wrong - ddpm_mean)) > 1e3 * np.max(tol)


# ---------------------------------------------------------------------------
# probability-flow-gaussian: integrate the ODE, compare the transported quantiles


def _vp(t: np.ndarray | float, c0: float, c1: float):
    beta = 2 * c0 + 4 * c1 * t
    ab = np.exp(-2 * (c0 * t + c1 * t**2))
    return beta, ab


def _transport(mu: float, s2: float, c0: float, c1: float, z: np.ndarray,
               score_factor: float = 0.5) -> np.ndarray:
    """x_0 = mu + s z carried to t = 1 by dx/dt = -beta x/2 - score_factor beta d log p_t."""
    def v(t, x):
        beta, ab = _vp(t, c0, c1)
        m, var = math.sqrt(ab) * mu, ab * s2 + 1 - ab
        return -beta * x / 2 + score_factor * beta * (x - m) / var
    sol = integrate.solve_ivp(v, (0.0, 1.0), mu + math.sqrt(s2) * z, method="DOP853",
                              rtol=1e-12, atol=1e-12)
    assert sol.success
    return sol.y[:, -1]


@pytest.mark.parametrize("mu, s2, c0, c1", [(0.0, 1.0, 0.05, 2.5), (2.0, 0.04, 0.05, 2.5),
                                            (-1.0, 3.0, 0.5, 0.1)])
def test_probability_flow_transports_the_data_law_to_the_marginal(mu, s2, c0, c1) -> None:
    """The flow is monotone, so it must carry each quantile of N(mu, s2) to the same
    quantile of p_1 = N(sqrt(ab) mu, ab s2 + 1 - ab): S2, no sampling."""
    z = np.linspace(-4, 4, 33)
    x1 = _transport(mu, s2, c0, c1, z)
    _, ab = _vp(1.0, c0, c1)
    want = math.sqrt(ab) * mu + math.sqrt(ab * s2 + 1 - ab) * z
    assert np.allclose(x1, want, rtol=0, atol=1e-9 * (1 + np.abs(want)))  # ODE rtol 1e-12
    # planted slip: the reverse-SDE drift's full g^2 in an ODE (no 1/2) misses the marginal
    wrong = _transport(mu, s2, c0, c1, z, score_factor=1.0)
    assert np.max(np.abs(wrong - want)) > 1e-3


@pytest.mark.statistical
def test_probability_flow_samples_have_the_marginal_law(seed: int) -> None:
    mu, s2, c0, c1 = 0.5, 0.25, 0.05, 2.5
    z = np.random.default_rng(seed).standard_normal(2_000)
    x1 = _transport(mu, s2, c0, c1, z)
    _, ab = _vp(1.0, c0, c1)
    true = Law(math.sqrt(ab) * mu, ab * s2 + 1 - ab)
    assert law_failures(x1, true, 1) == []


# ---------------------------------------------------------------------------
# strided-chain-bound: the sub-chain's posterior by regression; weights on real schedules


@pytest.mark.statistical
def test_strided_posterior_by_regression(seed: int) -> None:
    """Simulate the *parent* chain step by step and regress x_{tau_{i-1}} on
    (x_0, x_{tau_i}): the coefficients and residual variance are the respaced posterior's
    (q(x_{tau_{i-1}}|x_{tau_i}, x_0) is exactly linear-Gaussian)."""
    from scipy import stats

    parent = Schedule.linear(200, beta_start=1e-3, beta_end=0.05)
    sub = parent.respace(10)
    i = 5  # sub-chain step (1-based), kept parent steps tau_{i-1} < tau_i
    tau_prev, tau_i = int(sub.timesteps[i - 2]), int(sub.timesteps[i - 1])
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(N)
    x, kept = x0.copy(), {}
    for s in range(1, tau_i + 1):
        b = float(parent.betas[s - 1])
        x = math.sqrt(1 - b) * x + math.sqrt(b) * rng.standard_normal(N)
        kept[s] = x
    abp, abi = float(parent.alpha_bar[tau_prev - 1]), float(parent.alpha_bar[tau_i - 1])
    bp = 1 - abi / abp
    c0 = math.sqrt(abp) * bp / (1 - abi)
    ct = math.sqrt(abi / abp) * (1 - abp) / (1 - abi)
    var = (1 - abp) * bp / (1 - abi)
    X = np.stack([x0, kept[tau_i]], axis=1)
    coef, *_ = np.linalg.lstsq(X, kept[tau_prev], rcond=None)
    cov = var * np.linalg.inv(X.T @ X)
    for j, c in enumerate((c0, ct)):
        est = Estimate(float(coef[j]), math.sqrt(cov[j, j]), N, Method.MONTE_CARLO)
        assert check_agreement(est, c, budget=1e-6 / 3, n_examples=1).agrees
    rss = float(np.sum((kept[tau_prev] - X @ coef) ** 2))
    p = 2 * min(stats.chi2.cdf(rss / var, N - 2), stats.chi2.sf(rss / var, N - 2))
    assert p >= per_run_alpha(1e-6 / 3, 1)
    # planted slip: the parent's one-step beta_{tau_i} in place of beta'_i (a visible shift)
    slip_var = (1 - abp) * float(parent.betas[tau_i - 1]) / (1 - abi)
    q = rss / slip_var
    assert 2 * min(stats.chi2.cdf(q, N - 2), stats.chi2.sf(q, N - 2)) < per_run_alpha(1e-6, 1)


@pytest.mark.parametrize("K", [5, 50, 250])
def test_strided_weights_telescope_on_real_schedules(K: int) -> None:
    for parent in (Schedule.linear(1000), Schedule.cosine(1000)):
        sub = parent.respace(K)
        snr = sub.schedule.snr  # the sub-chain's own SNR, from its own betas
        # the sub-chain's alpha_bar is the parent's at the kept steps; its product of
        # alpha'_i = 1 - beta'_i loses eps / alpha'_i relative digits per factor
        rtol = 4 * K * EPS / float(np.min(sub.schedule.alphas))
        assert np.allclose(sub.schedule.alpha_bar, parent.alpha_bar[sub.timesteps - 1],
                           rtol=rtol, atol=0)
        # steps i = 2..K (i = 1 is the decoder, where alpha_bar_prev = 1)
        ab, abp = sub.schedule.alpha_bar[1:], sub.schedule.alpha_bar_prev[1:]
        w = abp * sub.schedule.betas[1:] / (2 * (1 - abp) * (1 - ab))  # c0'^2/(2 beta~')
        w_snr = (snr[:-1] - snr[1:]) / 2                                # 1/2 (SNR - SNR)
        assert np.allclose(w, w_snr, rtol=1e-10, atol=0)  # ratios of nearby SNRs
        assert math.isclose(float(np.sum(w)), (snr[0] - snr[-1]) / 2, rel_tol=1e-10)


# ---------------------------------------------------------------------------
# continuous-time-remainder: the exact integral against the C/T bound


def _remainder(T: int, s0: float, g1: float, e: tuple[float, float, float]) -> float:
    def snr(t):
        return s0 * math.exp(-g1 * t)

    def err(t):
        return e[0] + e[1] * t + e[2] * t * t

    def anti(t):  # d/dt of -SNR(t)(E + E'/g1 + E''/g1^2) is -SNR'(t) E(t)
        return -snr(t) * (err(t) + (e[1] + 2 * e[2] * t) / g1 + 2 * e[2] / g1**2)

    ts = np.linspace(0.0, 1.0, T + 1)
    discrete = sum((snr(ts[i - 1]) - snr(ts[i])) * err(ts[i]) for i in range(1, T + 1)) / 2
    return discrete - (anti(1.0) - anti(0.0)) / 2


@pytest.mark.parametrize("s0, g1, e", [(1e3, 8.0, (0.0, 1.0, 0.5)), (5.0, 0.3, (2.0, 0.1, 3.0)),
                                       (50.0, 12.0, (-1.0, 2.0, 0.0))])
def test_continuous_time_remainder_is_within_c_over_t(s0, g1, e) -> None:
    C = g1 * s0 * (e[1] + e[2]) / 2  # sup|SNR'| (E(1) - E(0)) / 2
    scaled = []
    for T in (4, 16, 64, 256, 1024):
        r = _remainder(T, s0, g1, e)
        slack = 1e-12 * s0 * (1 + abs(e[0]) + e[1] + e[2])  # summation rounding, T <= 1024
        assert -slack <= r <= C / T + slack, (T, r, C / T)
        scaled.append(T * r)
    # the rate is exactly 1/T: T R_T settles (to 1/4 of the SNR-weighted increment, here
    # with a relative change below 2 % between the last two T)
    assert abs(scaled[-1] - scaled[-2]) <= 0.02 * abs(scaled[-1])
    # planted slip: a C/T^2 bound is violated at the largest T
    assert r > C / 1024**2


# ---------------------------------------------------------------------------
# vdm-snr-invariance: quadrature on paths with the same ends, Gaussian-data error


def _loss(snr, dsnr) -> float:
    """-1/2 int_0^1 SNR'(t) E(SNR(t)) dt with E(v) = 1/(1 + v): the MMSE of x ~ N(0, 1)
    at SNR v."""
    val, _ = integrate.quad(lambda t: -dsnr(t) / (1 + snr(t)) / 2, 0.0, 1.0,
                            epsabs=1e-12, epsrel=1e-12)
    return val


def test_vdm_loss_depends_only_on_the_ends() -> None:
    s1, s0 = 0.01, 50.0
    want = math.log((1 + s0) / (1 + s1)) / 2  # 1/2 int_{s1}^{s0} dv/(1 + v)
    paths = []
    for lam in (0.1, 0.5, 0.9):  # the derivation's polynomial family
        d = s0 - s1
        paths.append((lambda t, lam=lam, d=d: s1 + d * (1 - t) * (1 + lam * t),
                      lambda t, lam=lam, d=d: d * (-(1 + lam * t) + lam * (1 - t))))
    g0, g1 = -math.log(s0), math.log(s0 / s1)  # log-linear: gamma(t) = g0 + g1 t
    paths.append((lambda t: math.exp(-g0 - g1 * t), lambda t: -g1 * math.exp(-g0 - g1 * t)))
    losses = [_loss(s, ds) for s, ds in paths]
    assert np.allclose(losses, want, rtol=1e-9, atol=0)  # quad at epsrel 1e-12
    # planted slip: integrating in t (no SNR' weight) depends on the path
    in_t = [integrate.quad(lambda t, s=s: 1 / (1 + s(t)), 0, 1)[0] for s, _ in paths]
    assert max(in_t) - min(in_t) > 1e-2
