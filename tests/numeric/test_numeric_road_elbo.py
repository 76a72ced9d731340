"""Numeric twins of the road from the likelihood (linear-gaussian-step,
forward-marginal-induction, elbo-by-jensen, tower-property, marginalisation-to-kl).

Each twin is independent of SymPy: Gauss--Hermite quadrature in float64 (``gauss_hermite``,
with its n-vs-2n truncation bound; the acceptance rule adds the rounding floor) or Monte
Carlo over the simulated chain with the false-alarm budget of docs/verification.md
(1e-6 per test function, split over the examples and the checks of one example).  Every
twin also rejects a plausible wrong variant of its derivation's result."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ddpm_theory import domains
from ddpm_theory.numeric import (
    Estimate,
    active_examples,
    check_agreement,
    gauss_hermite,
    sample_mean,
)
from ddpm_theory.testing.strategies import floats_in, seeds

N = 20_000            # draws per example for the bounded characteristic-function checks
N_CHAIN = 200_000     # draws per example for the (skewed) log-ratio integrand


def _gh(f, dim: int, n_nodes: int = 40) -> Estimate:
    return gauss_hermite(f, dim, n_nodes)


# ---------------------------------------------------------------------------
# linear-gaussian-step: φ_{ax+bε}(s) by 2-D quadrature


def _lemma_cf(a, b, m, v, s) -> tuple[Estimate, Estimate]:
    def y(z):
        return a * (m + math.sqrt(v) * z[:, 0]) + b * z[:, 1]
    return (_gh(lambda z: np.cos(s * y(z)), 2), _gh(lambda z: np.sin(s * y(z)), 2))


def _cf(mean: float, var: float, s: float) -> complex:
    return complex(np.exp(1j * mean * s - var * s**2 / 2))


@given(a=floats_in(domains.REAL, -2.0, 2.0), b=floats_in(domains.POSITIVE, 0.05, 2.0),
       m=floats_in(domains.REAL, -3.0, 3.0), v=floats_in(domains.VARIANCE, 0.01, 2.0),
       s=floats_in(domains.REAL, -1.5, 1.5))
@example(a=2.0, b=0.5, m=1.0, v=1.5, s=0.8)
def test_linear_gaussian_step_by_quadrature(a, b, m, v, s) -> None:
    re, im = _lemma_cf(a, b, m, v, s)
    claim = _cf(a * m, a**2 * v + b**2, s)
    assert check_agreement(re, claim.real).agrees, (re, claim)
    assert check_agreement(im, claim.imag).agrees, (im, claim)


def test_linear_gaussian_step_rejects_unsquared_a() -> None:
    """The slip a·v + b² (a not squared) is rejected where it differs."""
    a, b, m, v, s = 2.0, 0.5, 1.0, 1.5, 0.8
    re, _ = _lemma_cf(a, b, m, v, s)
    assert not check_agreement(re, _cf(a * m, a * v + b**2, s).real).agrees


# ---------------------------------------------------------------------------
# forward-marginal-induction: the empirical characteristic function of a simulated chain


def _chain(x0: float, betas: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = np.full(N, x0)
    for b in betas:
        x = math.sqrt(1.0 - b) * x + math.sqrt(b) * rng.standard_normal(N)
    return x


def _cf_failures(x: np.ndarray, mean: float, var: float, n_checks: int) -> list[str]:
    """Checks of Re and Im of the empirical cf at s = 0.5, 1 against N(mean, var): sample
    means of cos(sX), sin(sX) with their sample SE and skewness (the skewness-corrected
    rule of docs/verification.md)."""
    out = []
    for s in (0.5, 1.0):
        phi = _cf(mean, var, s)
        for vals, exact in ((np.cos(s * x), phi.real), (np.sin(s * x), phi.imag)):
            est = sample_mean(vals)
            if not check_agreement(est, exact, n_examples=n_checks).agrees:
                out.append(f"s={s}: {est.value:.6g} vs {exact:.6g}")
    return out


betas_lists = st.lists(floats_in(domains.BETA, 1e-3, 0.5), min_size=2, max_size=8)


@pytest.mark.statistical
@given(betas=betas_lists, x0=floats_in(domains.REAL, -3.0, 3.0), seed=seeds())
@example(betas=[0.1, 0.2, 0.3], x0=2.0, seed=0)
def test_forward_induction_cf_of_the_chain(betas, x0, seed) -> None:
    b = np.array(betas)
    ab = float(np.prod(1 - b))
    x = _chain(x0, b, np.random.default_rng(seed))
    n_checks = 4 * active_examples(1)
    assert _cf_failures(x, math.sqrt(ab) * x0, 1 - ab, n_checks) == []


@pytest.mark.statistical
def test_forward_induction_rejects_previous_alpha_bar(seed) -> None:
    """The slip 1 − ᾱ_{t−1} for the variance (the last step's noise forgotten) is caught."""
    b = np.array([0.1, 0.2, 0.3])
    ab, ab_prev = float(np.prod(1 - b)), float(np.prod(1 - b[:-1]))
    x = _chain(2.0, b, np.random.default_rng(seed))
    assert _cf_failures(x, math.sqrt(ab) * 2.0, 1 - ab_prev, 4)


# ---------------------------------------------------------------------------
# elbo-by-jensen: a discrete latent exactly; a Gaussian latent by quadrature


def _discrete(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    q = rng.dirichlet(np.ones(n))
    joint = rng.lognormal(-1.0, 1.0, size=n)  # p_θ(x_0, z_i)
    return q, joint


@given(n=st.integers(2, 8), seed=seeds())
def test_jensen_gap_is_kl_discrete(n, seed) -> None:
    q, joint = _discrete(n, np.random.default_rng(seed))
    evidence = joint.sum()
    w = joint / q
    elbo = float(q @ np.log(w))
    u = w / evidence
    jensen_gap = float(q @ (u - 1 - np.log(u)))
    post = joint / evidence
    kl = float(q @ np.log(q / post))
    assert math.log(evidence) >= elbo
    tol = 64 * np.finfo(float).eps * (1 + abs(math.log(evidence)) + np.abs(np.log(w)).max())
    assert abs((math.log(evidence) - elbo) - jensen_gap) <= tol
    assert abs(jensen_gap - kl) <= tol


def test_jensen_gap_is_not_the_reverse_kl() -> None:
    q, joint = _discrete(4, np.random.default_rng(7))
    post = joint / joint.sum()
    gap = math.log(joint.sum()) - float(q @ np.log(joint / q))
    assert abs(gap - float(post @ np.log(post / q))) > 1e-3


def _kl(m1, v1, m2, v2) -> float:
    return 0.5 * (math.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1)


def _log_normal(x, m, v):
    return -0.5 * np.log(2 * np.pi * v) - (x - m) ** 2 / (2 * v)


@given(alpha=floats_in(domains.ALPHA, 0.05, 0.99), c=floats_in(domains.REAL, -2.0, 2.0),
       s2=floats_in(domains.VARIANCE, 0.05, 2.0), x0=floats_in(domains.REAL, -2.0, 2.0))
def test_jensen_gap_is_kl_gaussian_latent(alpha, c, s2, x0) -> None:
    """T = 1: q(x_1|x_0) = N(√α x_0, β), p(x_1) = N(0, 1), p_θ(x_0|x_1) = N(c x_1, s²)."""
    mq, vq = math.sqrt(alpha) * x0, 1 - alpha

    def log_w(z):
        x1 = mq + math.sqrt(vq) * z[:, 0]
        return _log_normal(x1, 0, 1) + _log_normal(x0, c * x1, s2) - _log_normal(x1, mq, vq)

    elbo = _gh(log_w, 1)
    log_evidence = float(_log_normal(x0, 0.0, c**2 + s2))
    post_var = s2 / (c**2 + s2)
    post_mean = c * x0 / (c**2 + s2)
    kl = _kl(mq, vq, post_mean, post_var)
    assert check_agreement(elbo, log_evidence - kl).agrees
    assert log_evidence - elbo.value >= -check_agreement(elbo, log_evidence).tolerance


# ---------------------------------------------------------------------------
# tower-property: both orders of integration by quadrature


def _pair_orders(M, V, A, B, S, c) -> tuple[Estimate, Estimate]:
    prev_mean, prev_var = A * M + B, A**2 * V + S
    slope = A * V / prev_var
    shift, fvar = M - slope * prev_mean, V * S / prev_var

    def f(u, x):
        return c[0] + c[1] * u + c[2] * x + c[3] * u**2 + c[4] * u * x + c[5] * x**2

    def forward(z):
        u = prev_mean + math.sqrt(prev_var) * z[:, 0]
        return f(u, slope * u + shift + math.sqrt(fvar) * z[:, 1])

    def backward(z):
        x = M + math.sqrt(V) * z[:, 0]
        return f(A * x + B + math.sqrt(S) * z[:, 1], x)

    return _gh(forward, 2, 8), _gh(backward, 2, 8)


@given(M=floats_in(domains.REAL, -2.0, 2.0), V=floats_in(domains.VARIANCE, 0.05, 2.0),
       A=floats_in(domains.REAL, -2.0, 2.0), B=floats_in(domains.REAL, -2.0, 2.0),
       S=floats_in(domains.VARIANCE, 0.05, 2.0),
       c=st.lists(floats_in(domains.REAL, -2.0, 2.0), min_size=6, max_size=6))
def test_tower_property_by_quadrature(M, V, A, B, S, c) -> None:
    fwd, back = _pair_orders(M, V, A, B, S, c)
    assert check_agreement(fwd, back.value).agrees, (fwd, back)


def test_tower_property_rejects_the_prior_variance_in_the_posterior() -> None:
    """Drawing x_{t−1} around A x_t + B with q(x_{t−1}|x_0)'s variance A²V + S is wrong."""
    M, V, A, B, S, c = 0.5, 1.0, 0.8, 0.1, 0.3, [0, 0, 0, 1.0, 0, 0]
    fwd, _ = _pair_orders(M, V, A, B, S, c)
    _, wrong = _pair_orders(M, V, A, B, A**2 * V + S, c)
    assert not check_agreement(fwd, wrong.value).agrees


@given(ab_prev=floats_in(domains.UNIT_OPEN, 0.05, 0.95),
       alpha=floats_in(domains.ALPHA, 0.05, 0.99), x0=floats_in(domains.REAL, -2.0, 2.0))
def test_ddpm_pair_has_the_forward_step(ab_prev, alpha, x0) -> None:
    ab, beta = ab_prev * alpha, 1 - alpha
    A = math.sqrt(alpha) * (1 - ab_prev) / (1 - ab)
    B = math.sqrt(ab_prev) * beta / (1 - ab) * x0
    S, M, V = (1 - ab_prev) * beta / (1 - ab), math.sqrt(ab) * x0, 1 - ab
    prev_var = A**2 * V + S
    got = (A * M + B, prev_var, A * V / prev_var, M - A * V / prev_var * (A * M + B),
           V * S / prev_var)
    want = (math.sqrt(ab_prev) * x0, 1 - ab_prev, math.sqrt(alpha), 0.0, beta)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


# ---------------------------------------------------------------------------
# marginalisation-to-kl: the L_{t−1} integrand averaged over a whole simulated chain


def _l_terms(betas: np.ndarray, t: int, x0: float, k: float, h: float, s2: float):
    """(posterior A, B, S; marginal M, V) of step t (1-based, t ≥ 2)."""
    alphas = 1 - betas
    ab, ab_prev = float(np.prod(alphas[:t])), float(np.prod(alphas[:t - 1]))
    beta = float(betas[t - 1])
    A = math.sqrt(alphas[t - 1]) * (1 - ab_prev) / (1 - ab)
    B = math.sqrt(ab_prev) * beta / (1 - ab) * x0
    S = (1 - ab_prev) * beta / (1 - ab)
    return A, B, S, math.sqrt(ab) * x0, 1 - ab


def _expected_kl(A, B, S, M, V, k, h, s2, *, drop_variance: bool = False) -> float:
    spread = 0.0 if drop_variance else (A - k) ** 2 * V / (2 * s2)
    return ((A - k) * M + B - h) ** 2 / (2 * s2) + spread + _kl(0, S, 0, s2)


def _chain_average(betas, t, x0, k, h, s2, rng) -> Estimate:
    A, B, S, _, _ = _l_terms(betas, t, x0, k, h, s2)
    x = np.full(N_CHAIN, x0)
    states = []
    for b in betas:  # the whole chain x_1..x_T: the states other than x_{t−1}, x_t are drawn
        x = math.sqrt(1 - b) * x + math.sqrt(b) * rng.standard_normal(N_CHAIN)
        states.append(x)
    prev, cur = states[t - 2], states[t - 1]
    g = _log_normal(prev, A * cur + B, S) - _log_normal(prev, k * cur + h, s2)
    return sample_mean(g)  # sample SE and skewness: the skewness-corrected rule


@pytest.mark.statistical
@given(betas=st.lists(floats_in(domains.BETA, 0.02, 0.5), min_size=3, max_size=6),
       t=st.integers(2, 6), x0=floats_in(domains.REAL, -2.0, 2.0),
       k=floats_in(domains.REAL, -1.5, 1.5), h=floats_in(domains.REAL, -1.0, 1.0),
       s2=floats_in(domains.VARIANCE, 0.2, 2.0), seed=seeds())
@example(betas=[0.1, 0.2, 0.3, 0.2], t=3, x0=1.0, k=-1.0, h=0.3, s2=0.5, seed=0)
def test_marginalisation_to_kl_over_the_chain(betas, t, x0, k, h, s2, seed) -> None:
    b = np.array(betas)
    t = min(t, b.size)
    est = _chain_average(b, t, x0, k, h, s2, np.random.default_rng(seed))
    exact = _expected_kl(*_l_terms(b, t, x0, k, h, s2), k, h, s2)
    report = check_agreement(est, exact, n_examples=active_examples(1))
    assert report.agrees, report.describe()


@pytest.mark.statistical
def test_marginalisation_rejects_the_kl_at_the_mean(seed) -> None:
    """The slip 'E_{q(x_t|x_0)} KL = KL at x_t = E x_t' (variance term dropped) is caught:
    the check's detectable discrepancy is below the slip's size, and the slip fails."""
    b, t, x0, k, h, s2 = np.array([0.1, 0.2, 0.3, 0.2]), 3, 1.0, -1.0, 0.3, 0.5
    est = _chain_average(b, t, x0, k, h, s2, np.random.default_rng(seed))
    terms = _l_terms(b, t, x0, k, h, s2)
    right = _expected_kl(*terms, k, h, s2)
    wrong = _expected_kl(*terms, k, h, s2, drop_variance=True)
    report = check_agreement(est, wrong, must_detect=abs(right - wrong), n_examples=1)
    assert report.powerful and not report.agrees, report.describe()
