"""Gaussian KL and decoder likelihoods against independent implementations
(torch.distributions, scipy.stats), in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import stats

from ddpm_theory import domains
from ddpm_theory.backend.likelihood import (
    approx_standard_normal_cdf,
    bin_centers,
    discretized_gaussian_log_likelihood,
    gaussian_log_likelihood,
    normal_kl,
)
from ddpm_theory.testing.strategies import floats_in, means, variances

EPS = np.finfo(np.float64).eps


def _kl_bound(m1, v1, m2, v2) -> np.ndarray:
    """KL sums terms of size |log r|, r, dm^2/v2 and 1 (r = v1/v2) and can cancel to ~0:
    the absolute rounding error is <~ 8 eps times the sum of their magnitudes."""
    r = v1 / v2
    return 8 * EPS * (1 + r + np.abs(np.log(r)) + (m1 - m2) ** 2 / v2)


@given(m1=means(6), v1=variances(6), m2=means(6), v2=variances(6))
@example(m1=np.zeros(6), v1=np.ones(6), m2=np.zeros(6), v2=np.ones(6))
def test_normal_kl_matches_torch_distributions(m1, v1, m2, v2) -> None:
    T = torch.as_tensor
    got = normal_kl(T(m1), T(np.log(v1)), T(m2), T(np.log(v2))).numpy()
    p = torch.distributions.Normal(T(m1), T(np.sqrt(v1)))
    q = torch.distributions.Normal(T(m2), T(np.sqrt(v2)))
    want = torch.distributions.kl_divergence(p, q).numpy()
    # both sides: the same terms, ~8 eps of their magnitudes each (the bound doubled)
    assert np.all(np.abs(got - want) <= 2 * _kl_bound(m1, v1, m2, v2))
    assert np.all(got >= -_kl_bound(m1, v1, m2, v2))  # KL >= 0 up to rounding


def test_normal_kl_planted_slip_is_rejected() -> None:
    """Without the 1/2 the KL doubles; on a KL of ~0.3 that is far beyond the bound."""
    m1, v1, m2, v2 = (torch.tensor(x, dtype=torch.float64) for x in (0.3, 0.5, -0.2, 1.2))
    want = torch.distributions.kl_divergence(torch.distributions.Normal(m1, v1.sqrt()),
                                             torch.distributions.Normal(m2, v2.sqrt()))
    wrong = 2 * normal_kl(m1, v1.log(), m2, v2.log())
    assert abs(float(wrong - want)) > 1e6 * float(_kl_bound(0.3, 0.5, -0.2, 1.2))


# -- the discretised decoder (Ho et al. 2020, Eq. 13) -------------------------------------
def _scipy_bins(levels: int, mu: float, sigma: float) -> np.ndarray:
    """P(bin k) by scipy, the upper tail (sf) used right of the mean so that neither
    side loses the small probabilities to cancellation; edge bins to -inf / +inf."""
    x = -1 + 2 * np.arange(levels) / (levels - 1)
    h = 1 / (levels - 1)
    lo, hi = (x - h - mu) / sigma, (x + h - mu) / sigma
    lo[0], hi[-1] = -np.inf, np.inf
    right = lo > 0
    return np.where(right, stats.norm.sf(lo) - stats.norm.sf(hi),
                    stats.norm.cdf(hi) - stats.norm.cdf(lo))


@given(levels=st.sampled_from([2, 3, 17, 256]), mu=floats_in(domains.REAL, -1.5, 1.5),
       log_sigma=st.floats(np.log(1e-3), np.log(3.0)))
@example(levels=256, mu=0.0, log_sigma=np.log(0.5 / 255))  # a narrow decoder: one bin
@example(levels=17, mu=1.2, log_sigma=np.log(0.05))  # the upper edge bin holds the mass
@example(levels=17, mu=-1.0, log_sigma=np.log(0.3))
def test_discretized_bins_sum_to_one_and_match_scipy(levels, mu, log_sigma) -> None:
    x = bin_centers(levels)
    ll = discretized_gaussian_log_likelihood(
        x, mean=torch.tensor(mu, dtype=torch.float64),
        log_scale=torch.tensor(log_sigma, dtype=torch.float64), levels=levels)
    p = ll.exp().numpy()
    # a partition of R: the sum is 1 up to the rounding of <= 256 terms (1e-12 budget)
    assert abs(p.sum() - 1.0) <= 1e-12
    want = _scipy_bins(levels, mu, float(np.exp(log_sigma)))
    # each bin is a difference of two CDF values <= 1 on the scipy side: 4 eps absolute
    # rounding, plus rtol 1e-12 for the log/exp round trip of the backend's value
    np.testing.assert_allclose(p, want, rtol=1e-12, atol=4 * EPS)
    assert np.all(np.isfinite(ll.numpy()))


def test_discretized_edge_bins_extend_to_infinity() -> None:
    """Far outside [-1, 1] the whole mass sits in an edge bin: log P = 0 there, not log
    of a finite-width bin (the planted slip, a closed edge bin, gives ~ -inf)."""
    x = torch.tensor([-1.0, 1.0], dtype=torch.float64)
    ll = discretized_gaussian_log_likelihood(
        x, mean=torch.tensor([-5.0, 5.0], dtype=torch.float64),
        log_scale=torch.tensor([np.log(0.1)] * 2, dtype=torch.float64), levels=256)
    assert torch.all(ll.abs() <= 4 * EPS)
    closed = stats.norm.cdf((-1 + 1 / 255 + 5) / 0.1) - stats.norm.cdf((-1 - 1 / 255 + 5) / 0.1)
    assert closed < 1e-100


def test_discretized_deep_tail_is_finite_and_accurate() -> None:
    """A bin 30 sigma away: P ~ 1e-198, far below what 1 - Phi could hold; the exact path
    keeps it (log within 1e-10 relative of scipy's logsf difference)."""
    x = bin_centers(256)[128:129]  # 1/255, the bin [0, 2/255]
    ll = discretized_gaussian_log_likelihood(
        x, mean=torch.tensor([-3.0], dtype=torch.float64),
        log_scale=torch.tensor([np.log(0.1)], dtype=torch.float64), levels=256)
    a, b = (0 + 3) / 0.1, (2 / 255 + 3) / 0.1
    want = stats.norm.logsf(a) + np.log1p(-np.exp(stats.norm.logsf(b) - stats.norm.logsf(a)))
    assert abs(float(ll) - want) <= 1e-10 * abs(want)


TANH_CDF_BOUND = 2e-4
"""|Phi_tanh(x) - Phi(x)| <= 1.79e-4 over a 2e5-point grid of [-10, 10] (max near
x = -2.59); 2e-4 rounds it up. A bin probability is a difference of two CDF values, so
exact and tanh bins agree to 2 * TANH_CDF_BOUND."""


def test_tanh_cdf_error_bound() -> None:
    x = torch.linspace(-10, 10, 200_001, dtype=torch.float64)
    phi = torch.as_tensor(stats.norm.cdf(x.numpy()))
    err = (approx_standard_normal_cdf(x) - phi).abs().max()
    assert err <= TANH_CDF_BOUND
    # not vacuous: dropping the cubic term (a plausible slip) is 100x outside the bound
    crude = 0.5 * (1 + torch.tanh(np.sqrt(2 / np.pi) * x))
    assert (crude - phi).abs().max() > 50 * TANH_CDF_BOUND


@given(levels=st.sampled_from([17, 256]), mu=floats_in(domains.REAL, -1.2, 1.2),
       log_sigma=st.floats(np.log(1e-2), np.log(2.0)))
def test_exact_and_tanh_bins_agree_to_the_stated_bound(levels, mu, log_sigma) -> None:
    x = bin_centers(levels)
    kw = {"mean": torch.tensor(mu, dtype=torch.float64),
          "log_scale": torch.tensor(log_sigma, dtype=torch.float64), "levels": levels}
    exact = discretized_gaussian_log_likelihood(x, **kw).exp()
    approx = discretized_gaussian_log_likelihood(x, approx_cdf="tanh", **kw).exp()
    assert torch.all((exact - approx).abs() <= 2 * TANH_CDF_BOUND)


def test_discretized_gradients_are_finite_at_the_edges() -> None:
    x = torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64)
    mean = torch.tensor([0.3, -0.2, 0.9], dtype=torch.float64, requires_grad=True)
    log_scale = torch.full((3,), -2.0, dtype=torch.float64, requires_grad=True)
    ll = discretized_gaussian_log_likelihood(x, mean=mean, log_scale=log_scale, levels=17)
    ll.sum().backward()
    assert torch.all(torch.isfinite(mean.grad)) and torch.all(torch.isfinite(log_scale.grad))


def test_discretized_rejects_off_grid_data_and_bad_levels() -> None:
    kw = {"mean": torch.zeros(1, dtype=torch.float64), "log_scale": torch.zeros(1).double()}
    with pytest.raises(ValueError, match="not on the 17-level grid"):
        discretized_gaussian_log_likelihood(torch.tensor([0.03]).double(), levels=17, **kw)
    with pytest.raises(ValueError, match="not on the 17-level grid"):
        discretized_gaussian_log_likelihood(torch.tensor([1.5]).double(), levels=17, **kw)
    with pytest.raises(ValueError, match="integer >= 2"):
        discretized_gaussian_log_likelihood(torch.tensor([0.0]).double(), levels=1, **kw)
    with pytest.raises(ValueError, match="exact, tanh, tanh_clamped; got 'erf'"):
        discretized_gaussian_log_likelihood(torch.tensor([0.0]).double(), levels=17,
                                            approx_cdf="erf", **kw)


@given(x=means(5, 10.0), m=means(5, 10.0), v=variances(5))
def test_continuous_decoder_matches_scipy_logpdf(x, m, v) -> None:
    got = gaussian_log_likelihood(torch.as_tensor(x), mean=torch.as_tensor(m),
                                  logvar=torch.as_tensor(np.log(v))).numpy()
    want = stats.norm.logpdf(x, m, np.sqrt(v))
    # terms log 2pi, log v, (x - m)^2/v: ~8 eps of their magnitudes
    bound = 8 * EPS * (np.log(2 * np.pi) + np.abs(np.log(v)) + (x - m) ** 2 / v)
    assert np.all(np.abs(got - want) <= bound)
