"""Worked-exercise checks of the homework (compute_mean, compute_cov, schedules) by exact
arithmetic and quadrature. The catalogue's verdicts are decided by its own formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from ddpm_theory import worked_exercises as wx
from ddpm_theory.domains import DomainError

# scipy.integrate.quad on these smooth integrands is accurate to ~1e-10 absolute
QUAD_TOL = 1e-8


def test_gaussian_density_integrates_to_one():
    # Yi 2023, line 19: the normalisation is an integral; the density itself exceeds 1
    for m, v in [(0.0, 0.01), (1.5, 2.0), (-3.0, 0.3)]:
        total, err = integrate.quad(lambda x, m=m, v=v: stats.norm.pdf(x, m, math.sqrt(v)),
                                    -np.inf, np.inf)
        assert abs(total - 1.0) < QUAD_TOL, (m, v, total, err)
    assert stats.norm.pdf(0.0, 0.0, 0.1) == pytest.approx(10 / math.sqrt(2 * math.pi), rel=1e-14)
    assert stats.norm.pdf(0.0, 0.0, 0.1) > 1


@pytest.mark.parametrize("a", [0.5, 2.0, 3.0])
def test_conditional_density_integrated_over_its_condition(a):
    # VAE/VDM notes, line 66: ∫ N(x; a z, 1) dz = 1/a, which is not 1 for a ≠ 1
    for x in (-1.0, 0.3):
        total, _ = integrate.quad(lambda z, x=x: stats.norm.pdf(x, a * z, 1.0), -np.inf, np.inf)
        assert total == pytest.approx(1 / a, abs=QUAD_TOL)
        assert abs(total - 1) > 0.3


# T = 1 linear-Gaussian model: x_1 ~ N(0, 1), x_0 | x_1 ~ N(c x_1, w)
C, W = 1.3, 0.4


def _p_x0(x0):
    return stats.norm.pdf(x0, 0.0, math.sqrt(C**2 + W))


def test_averaging_the_joint_density_is_not_the_likelihood():
    # Yi 2023, lines 51-55: E_{x_1 ~ p}[p(x_0, x_1)] vs p(x_0)
    for x0 in (0.0, 0.7, -1.9):
        def joint(x1, x0=x0):
            return stats.norm.pdf(x0, C * x1, math.sqrt(W)) * stats.norm.pdf(x1)

        naive, _ = integrate.quad(lambda x1, f=joint: f(x1) * stats.norm.pdf(x1),
                                  -np.inf, np.inf)
        right, _ = integrate.quad(
            lambda x1, x0=x0: stats.norm.pdf(x0, C * x1, math.sqrt(W)) * stats.norm.pdf(x1),
            -np.inf, np.inf)
        # closed form of the naive estimator's mean: N(x1;0,1)² = N(x1;0,½)/(2√π)
        closed = stats.norm.pdf(x0, 0, math.sqrt(C**2 / 2 + W)) / (2 * math.sqrt(math.pi))
        assert naive == pytest.approx(closed, abs=QUAD_TOL)
        assert right == pytest.approx(_p_x0(x0), abs=QUAD_TOL)
        assert abs(naive - _p_x0(x0)) > 0.05 * _p_x0(x0)


def test_importance_sampling_identity():
    # Yi 2023, line 57: p(x_0) = E_{q(x_1|x_0)}[p(x_0, x_1)/q(x_1|x_0)] for a proposal q;
    # the expectation is taken in q's own variable by a 120-node Gauss–Hermite rule, so
    # the weights p/q are genuinely evaluated (q wider than the posterior, variance 0.19:
    # the weighted integrand decays like a Gaussian and the rule is exact to ~1e-12)
    nodes, weights = np.polynomial.hermite_e.hermegauss(120)
    weights = weights / weights.sum()
    for x0, (mq, vq) in [(0.5, (0.2, 0.5)), (-1.0, (-0.7, 1.5)), (2.0, (1.0, 0.3))]:
        x1 = mq + math.sqrt(vq) * nodes
        w = (stats.norm.pdf(x0, C * x1, math.sqrt(W)) * stats.norm.pdf(x1)
             / stats.norm.pdf(x1, mq, math.sqrt(vq)))
        assert float(weights @ w) == pytest.approx(_p_x0(x0), abs=QUAD_TOL)
        # a proposal that is not a density (unnormalised by 2) breaks the identity
        assert abs(float(weights @ (w / 2)) - _p_x0(x0)) > 0.1 * _p_x0(x0)


def _ho_linear(T=1000):
    return np.linspace(1e-4, 0.02, T, dtype=np.float64)  # Ho et al. 2020, §4


def test_terminal_forward_marginal_is_not_standard_normal():
    # VAE/VDM notes, line 90; DDPM notes, Part 2, line 36: ᾱ_T > 0, so q(x_T|x_0) keeps √ᾱ_T x_0
    betas = _ho_linear()
    ab_T = wx.alpha_bar(betas, len(betas))
    assert ab_T == pytest.approx(float(np.exp(np.sum(np.log1p(-betas)))), rel=1e-12)
    assert 3e-5 < ab_T < 5e-5
    x0 = 1.0
    assert wx.compute_mean(x0, betas, len(betas)) == pytest.approx(math.sqrt(ab_T) * x0)
    assert wx.signal_retained(betas) > 0.006
    # Cov(x_0, x_T) = √ᾱ_T Var(x_0) for x_0 ~ N(0, 1): non-zero
    assert math.sqrt(ab_T) * 1.0 != 0.0


def test_compute_mean_and_cov_match_the_simulated_chain():
    # homework 1.2: the closed form against the chain x_t = √(1−β) x_{t−1} + √β ε,
    # exactly (same noise written two ways is not possible, so compare the linear maps):
    # the chain is linear in (x_0, ε_1..ε_t); its mean coefficient and variance are exact
    rng = np.random.default_rng(0)
    betas = rng.uniform(0.001, 0.2, size=12)
    for t in (1, 5, 12):
        coef, var = 1.0, 0.0
        for b in betas[:t]:
            coef, var = math.sqrt(1 - b) * coef, (1 - b) * var + b
        x0 = np.array([0.3, -1.2, 2.0])
        np.testing.assert_allclose(wx.compute_mean(x0, betas, t), coef * x0, rtol=1e-13)
        np.testing.assert_allclose(wx.compute_cov(betas, t, 3), var * np.eye(3), rtol=1e-13)
    # edge cases of 1.1
    cases = wx.edge_cases([0.5, -2.0], T=4)
    np.testing.assert_array_equal(cases["beta=0"][0], [0.5, -2.0])
    np.testing.assert_array_equal(cases["beta=0"][1], np.zeros((2, 2)))
    np.testing.assert_array_equal(cases["beta=1"][0], [0.0, 0.0])
    np.testing.assert_array_equal(cases["beta=1"][1], np.eye(2))


@pytest.mark.parametrize("bad", [[0.5, 1.5], [-0.1], [], [[0.1]], [float("nan")]])
def test_worked_exercises_validate_schedules(bad):
    with pytest.raises(DomainError):
        wx.compute_cov(bad, 1)


def test_worked_exercises_validate_t():
    with pytest.raises(DomainError):
        wx.compute_mean(1.0, [0.1, 0.2], 3)
    with pytest.raises(DomainError):
        wx.compute_mean(1.0, [0.1, 0.2], 0)


def test_larger_schedule_destroys_signal_faster():
    # homework 1.3: β ≤ β' elementwise ⇒ ᾱ_t ≥ ᾱ'_t for every t
    rng = np.random.default_rng(1)
    for _ in range(50):
        b = rng.uniform(1e-4, 0.5, size=30)
        b2 = np.minimum(b + rng.uniform(0, 0.3, size=30), 0.999)
        for t in range(1, 31):
            assert wx.alpha_bar(b, t) >= wx.alpha_bar(b2, t)
    # and strictly where some step is strictly larger
    assert wx.alpha_bar([0.1, 0.1], 2) > wx.alpha_bar([0.1, 0.2], 2)
