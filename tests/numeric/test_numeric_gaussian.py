"""Gaussian closed forms vs independent implementations (docs/verification.md rule 5):
scipy.stats, torch.distributions (float64), and quadrature; planted slips rejected."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import stats

from ddpm_theory.numeric import (
    diag_normal_entropy,
    diag_normal_log_density,
    gauss_hermite,
    kl_diag_normal,
    kl_mvn,
    kl_normal,
    mvn_entropy,
    mvn_log_density,
    normal_entropy,
    normal_log_density,
)
from ddpm_theory.testing.strategies import dimensions, means, seeds, variances

EPS = np.finfo(np.float64).eps
td = torch.distributions


def _kl_scale(m1, v1, m2, v2) -> np.ndarray:
    """Sum of the magnitudes of the KL's terms: the absolute rounding error of the
    closed form (and of any other implementation of it) is a few eps times this."""
    r = v1 / v2
    return 1.0 + r + np.abs(np.log(r)) + (m1 - m2) ** 2 / v2


def _spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.standard_normal((d, d))
    return a @ a.T + 0.3 * np.eye(d)


# ---------------------------------------------------------------------------
# Univariate / diagonal KL


@given(m1=means(3), v1=variances(3), m2=means(3), v2=variances(3))
@example(m1=np.zeros(3), v1=np.ones(3), m2=np.zeros(3), v2=np.ones(3))
@example(m1=np.full(3, 5.0), v1=np.full(3, 1e-3), m2=np.full(3, -5.0), v2=np.full(3, 1e3))
def test_kl_normal_matches_torch(m1, v1, m2, v2) -> None:
    ours = kl_normal(m1, v1, m2, v2)
    ref = td.kl_divergence(
        td.Normal(torch.from_numpy(m1), torch.from_numpy(np.sqrt(v1))),
        td.Normal(torch.from_numpy(m2), torch.from_numpy(np.sqrt(v2))),
    ).numpy()
    # torch squares a square root: an extra ~2 eps relative on the ratio term.
    np.testing.assert_array_less(np.abs(ours - ref), 16 * EPS * _kl_scale(m1, v1, m2, v2))
    assert np.all(ours >= 0.0)
    assert kl_diag_normal(m1, v1, m2, v2) == pytest.approx(float(np.sum(ours)), rel=1e-15)


@given(m1=means(1), v1=variances(1), m2=means(1), v2=variances(1))
def test_kl_normal_matches_quadrature(m1, v1, m2, v2) -> None:
    """KL as the expectation of the log-density ratio: 2-node Gauss--Hermite is exact
    on the quadratic, and the log-densities are checked against scipy separately."""
    s1 = math.sqrt(v1[0])

    def f(z: np.ndarray) -> np.ndarray:
        x = m1[0] + s1 * z[:, 0]
        return normal_log_density(x, m1[0], v1[0]) - normal_log_density(x, m2[0], v2[0])

    q = gauss_hermite(f, 1, 2)
    scale = float(_kl_scale(m1, v1, m2, v2)[0]) + (abs(m1[0] - m2[0]) + 2 * s1) ** 2 / v2[0]
    assert abs(q.value - float(kl_normal(m1, v1, m2, v2)[0])) <= 64 * EPS * scale


def test_kl_planted_slips_are_rejected() -> None:
    """The torch cross-check must catch the usual slips: std for variance in the
    log term, ratio inverted, mean difference scaled by the wrong variance."""
    m1, v1, m2, v2 = np.array([0.3]), np.array([0.5]), np.array([-0.2]), np.array([2.0])
    t64 = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    ref = float(td.kl_divergence(td.Normal(t64(0.3), t64(math.sqrt(0.5))),
                                 td.Normal(t64(-0.2), t64(math.sqrt(2.0)))))
    tol = 16 * EPS * float(_kl_scale(m1, v1, m2, v2)[0])
    assert abs(float(kl_normal(m1, v1, m2, v2)[0]) - ref) <= tol
    slips = [
        0.5 * (math.log(math.sqrt(2.0) / math.sqrt(0.5)) + (0.5 + 0.25) / 2.0 - 1.0),
        0.5 * (math.log(0.5 / 2.0) + (2.0 + 0.25) / 0.5 - 1.0),
        0.5 * (math.log(2.0 / 0.5) + 0.5 / 2.0 + 0.25 / 0.5 - 1.0),
    ]
    for slip in slips:
        assert abs(slip - ref) > 1e6 * tol


# ---------------------------------------------------------------------------
# Full covariance


@given(seed=seeds(), d=dimensions(4))
@example(seed=0, d=1)
def test_kl_mvn_matches_torch_and_diagonal(seed: int, d: int) -> None:
    rng = np.random.default_rng(seed)
    c1, c2 = _spd(rng, d), _spd(rng, d)
    m1, m2 = rng.standard_normal((2, d))
    ours = kl_mvn(m1, c1, m2, c2)
    ref = float(td.kl_divergence(
        td.MultivariateNormal(torch.from_numpy(m1), torch.from_numpy(c1)),
        td.MultivariateNormal(torch.from_numpy(m2), torch.from_numpy(c2)),
    ))
    # Condition-number argument: Cholesky solves lose ~ d * kappa(C2) eps relative
    # on the trace and Mahalanobis terms; the covariances here have kappa < ~1e3.
    kappa = np.linalg.cond(c2)
    assert abs(ours - ref) <= 64 * d * kappa * EPS * (1.0 + abs(ref))
    v1, v2 = np.diag(c1).copy(), np.diag(c2).copy()
    assert kl_mvn(m1, np.diag(v1), m2, np.diag(v2)) == pytest.approx(
        float(kl_diag_normal(m1, v1, m2, v2)), rel=1e-12, abs=1e-13)
    assert kl_mvn(m1, c1, m1, c1) == pytest.approx(0.0, abs=64 * d * kappa * EPS)


# ---------------------------------------------------------------------------
# Log-densities and entropies vs scipy


@given(x=means(3), m=means(3), v=variances(3))
def test_log_densities_match_scipy(x, m, v) -> None:
    ref = stats.norm.logpdf(x, m, np.sqrt(v))
    # Terms of size |log v| and (x - m)^2 / v; rounding ~ 8 eps times their sum.
    scale = 1.0 + np.abs(np.log(v)) + (x - m) ** 2 / v
    np.testing.assert_array_less(np.abs(normal_log_density(x, m, v) - ref), 8 * EPS * scale)
    assert diag_normal_log_density(x, m, v) == pytest.approx(
        float(np.sum(ref)), abs=32 * EPS * float(np.sum(scale)))


@given(seed=seeds(), d=dimensions(4), n=st.integers(1, 5))
def test_mvn_log_density_and_entropy_match_scipy(seed: int, d: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    c, m = _spd(rng, d), rng.standard_normal(d)
    x = rng.standard_normal((n, d))
    ref = stats.multivariate_normal(m, c).logpdf(x)
    kappa = np.linalg.cond(c)
    # Same conditioning argument as for kl_mvn.
    np.testing.assert_allclose(mvn_log_density(x, m, c), np.atleast_1d(ref),
                               rtol=0, atol=64 * d * kappa * EPS * (1 + np.max(np.abs(ref))))
    ent = stats.multivariate_normal(m, c).entropy()
    assert mvn_entropy(c) == pytest.approx(ent, abs=64 * d * kappa * EPS * (1 + abs(ent)))


@given(v=variances(4))
def test_entropies_match_scipy(v) -> None:
    np.testing.assert_allclose(normal_entropy(v), stats.norm(0, np.sqrt(v)).entropy(),
                               rtol=1e-14, atol=1e-14)  # a log and two adds
    assert diag_normal_entropy(v) == pytest.approx(mvn_entropy(np.diag(v)), rel=1e-13, abs=1e-13)


def test_invalid_variances_are_rejected() -> None:
    with pytest.raises(ValueError):
        kl_normal(0.0, 0.0, 0.0, 1.0)
    with pytest.raises(ValueError):
        normal_log_density(0.0, 0.0, -1.0)
