"""Datasets with known laws: explicit generators, closed forms vs quadrature, the digits
grid, and sampled moments within a stated false-alarm rate."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate

from ddpm_theory.backend import DATASETS, EmpiricalDataset, GaussianMixture, get_dataset
from ddpm_theory.numeric.acceptance import assert_agrees, z_threshold
from ddpm_theory.numeric.estimators import Estimate, Method, sample_mean

EPS = np.finfo(np.float64).eps
POINTS = torch.tensor([[0.0, 1.0], [2.0, -1.0], [-1.5, 0.5]], dtype=torch.float64)


def _make(name: str):
    return get_dataset(name, points=POINTS) if name == "points" else get_dataset(name)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_sampling_uses_only_the_explicit_generator(name: str) -> None:
    ds = _make(name)
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()  # noqa: NPY002
    a = ds.sample(64, torch.Generator().manual_seed(7))
    b = ds.sample(64, torch.Generator().manual_seed(7))
    c = ds.sample(64, torch.Generator().manual_seed(8))
    n1 = ds.sample(64, np.random.default_rng(3), dtype=torch.float64)
    n2 = ds.sample(64, np.random.default_rng(3), dtype=torch.float64)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert all(np.array_equal(x, y) for x, y in
               zip(np.random.get_state()[1:3], np_state[1:3]))  # noqa: NPY002
    assert torch.equal(a, b) and not torch.equal(a, c) and torch.equal(n1, n2)
    assert a.shape == (64, *ds.event_shape) and a.dtype == torch.float32
    assert n1.dtype == torch.float64
    with pytest.raises(TypeError, match="explicit"):
        ds.sample(4, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive integer"):
        ds.sample(0, torch.Generator())


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_config_rebuilds_the_dataset(name: str) -> None:
    ds = _make(name)
    cfg = ds.config()
    if name != "points":  # the default name of EmpiricalDataset
        assert cfg["name"] == name
    again = get_dataset(cfg["name"], **cfg["args"])
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    assert torch.equal(ds.sample(16, g1), again.sample(16, g2))


def test_get_dataset_errors() -> None:
    with pytest.raises(ValueError, match="known datasets: standard_gaussian, gaussian"):
        get_dataset("mnist")
    with pytest.raises(ValueError, match="bad arguments for dataset 'ring8'"):
        get_dataset("ring8", radius=1.0, nonsense=2)


# -- closed forms vs quadrature ------------------------------------------------------------
@pytest.mark.parametrize("alpha_bar", [0.05, 0.5, 0.95])
@pytest.mark.parametrize("x_t", [-2.0, 0.1, 1.7])
def test_mixture_1d_posterior_mean_vs_quadrature(alpha_bar: float, x_t: float) -> None:
    ds = get_dataset("mixture_1d")
    a = alpha_bar

    def joint(x0: float) -> float:  # p(x0) N(x_t; sqrt(a) x0, 1 - a)
        lp = float(ds.log_prob(torch.tensor([[x0]], dtype=torch.float64))[0])
        return math.exp(lp - (x_t - math.sqrt(a) * x0) ** 2 / (2 * (1 - a)))

    kw = {"epsabs": 0.0, "epsrel": 1e-13, "limit": 200, "points": [-1.5, 1.0]}
    num, num_err = integrate.quad(lambda u: u * joint(u), -12, 12, **kw)
    den, den_err = integrate.quad(joint, -12, 12, **kw)
    want = num / den
    got = float(ds.posterior_mean_x0(torch.tensor([[x_t]], dtype=torch.float64), a)[0, 0])
    # quadrature error propagated through the ratio (its own estimates), plus the
    # truncation to [-12, 12] (mass beyond ~18 sigma: < 1e-70) and 64 eps of rounding
    bound = (num_err + abs(want) * den_err) / den + 64 * EPS * (1 + abs(want))
    assert abs(got - want) <= max(bound, 1e-12), (got, want, bound)


def _gh_posterior_mean(ds: GaussianMixture, x_t: np.ndarray, a: float, n: int = 128):
    """E[x0 | x_t] by self-normalised Gauss-Hermite weights: per component, x0 = m_k +
    L_k z on a tensor GH grid of N(0, I) nodes, weight w_k GH(z) N(x_t; sqrt(a) x0, (1-a) I).
    An independent route: no Gaussian conditioning formulas, only the integrals."""
    from numpy.polynomial.hermite_e import hermegauss

    z1, w1 = hermegauss(n)
    w1 = w1 / math.sqrt(2 * math.pi)
    z = np.stack(np.meshgrid(z1, z1, indexing="ij"), -1).reshape(-1, 2)
    wz = np.outer(w1, w1).ravel()
    num, den = np.zeros(2), 0.0
    for k in range(ds.K):
        L = np.linalg.cholesky(ds.covs[k].numpy())
        x0 = ds.means[k].numpy() + z @ L.T
        lik = np.exp(-((x_t - math.sqrt(a) * x0) ** 2).sum(1) / (2 * (1 - a)))
        wk = float(ds.weights[k]) * wz * lik
        num += (wk[:, None] * x0).sum(0)
        den += wk.sum()
    return num / den


@pytest.mark.parametrize("name", ["mixture_2d", "gaussian"])
@pytest.mark.parametrize("alpha_bar", [0.2, 0.5, 0.8])
def test_mixture_2d_posterior_mean_vs_self_normalised_quadrature(name: str, alpha_bar: float):
    ds = get_dataset(name)
    x_t = np.array([[0.3, -0.8], [1.2, 0.9], [-1.5, 1.0]])
    got = ds.posterior_mean_x0(torch.as_tensor(x_t), alpha_bar).numpy()
    want = np.stack([_gh_posterior_mean(ds, row, alpha_bar) for row in x_t])
    # the integrand is Gaussian x Gaussian in x0, entire; GH converges geometrically (at
    # ab = 0.8 the likelihood is narrower than the prior: 48 nodes are off by 6e-8, 96 by
    # 3e-15) -- the 96-vs-128 node difference, asserted below, bounds the error of Q128
    coarse = np.stack([_gh_posterior_mean(ds, row, alpha_bar, 96) for row in x_t])
    assert np.abs(coarse - want).max() < 1e-12
    # 1e-11: the convergence bound plus the rounding of 16k-term weighted sums (~1e-14)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-11)


def test_empirical_posterior_mean_and_marginal_vs_bayes_rule() -> None:
    ds = EmpiricalDataset(POINTS)
    x_t = torch.tensor([[0.4, 0.2], [-1.0, 3.0]], dtype=torch.float64)
    a = 0.6
    pts = POINTS.numpy()
    got = ds.posterior_mean_x0(x_t, a).numpy()
    got_lp = ds.marginal_log_prob(x_t, a).numpy()
    for row, g, glp in zip(x_t.numpy(), got, got_lp):
        dens = np.array([np.exp(-((row - math.sqrt(a) * p) ** 2).sum() / (2 * (1 - a)))
                         / (2 * math.pi * (1 - a)) for p in pts]) / len(pts)
        want = (dens[:, None] * pts).sum(0) / dens.sum()
        # exp/sum of three terms vs softmax: a few ulp of magnitudes <~ 2
        np.testing.assert_allclose(g, want, rtol=0, atol=1e-14)
        assert abs(glp - math.log(dens.sum())) <= 1e-13 * (1 + abs(glp))


def test_log_prob_integrates_to_one_1d() -> None:
    ds = get_dataset("mixture_1d")

    def p(u: float) -> float:
        return math.exp(float(ds.log_prob(torch.tensor([[u]], dtype=torch.float64))[0]))

    total, err = integrate.quad(p, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13, limit=200)
    assert abs(total - 1.0) <= max(10 * err, 1e-12)

    def q(u: float) -> float:  # the law of x_t at alpha_bar = 0.3
        x = torch.tensor([[u]], dtype=torch.float64)
        return math.exp(float(ds.marginal_log_prob(x, 0.3)[0]))

    total, err = integrate.quad(q, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13, limit=200)
    assert abs(total - 1.0) <= max(10 * err, 1e-12)


@pytest.mark.parametrize("name", ["mixture_2d", "ring8", "gaussian", "standard_gaussian"])
def test_log_prob_integrates_to_one_2d(name: str) -> None:
    """Trapezoid rule on [-7, 7]^2 with h = 0.04: for a Gaussian of standard deviation
    sigma its error is ~ exp(-2 pi^2 sigma^2 / h^2) (spectral accuracy of the trapezoid rule
    for analytic, rapidly decaying integrands; Trefethen & Weideman 2014), < 1e-50 for the
    smallest sigma here (0.1, ring8); the mass outside the box is < 1e-11 (the farthest
    component edge is > 6.7 standard deviations inside). Tolerance 1e-10."""
    ds = get_dataset(name)
    h = 0.04
    u = np.arange(-7, 7 + h / 2, h)
    X, Y = np.meshgrid(u, u, indexing="ij")
    pts = torch.as_tensor(np.stack([X.ravel(), Y.ravel()], 1))
    total = float(torch.exp(ds.log_prob(pts)).sum()) * h * h
    assert abs(total - 1.0) <= 1e-10


# -- digits -----------------------------------------------------------------------------
def test_digits_are_17_level_on_minus_one_one() -> None:
    ds = get_dataset("digits")
    pts = ds.points
    assert pts.shape == (1797, 1, 8, 8) and ds.levels == 17 and ds.event_shape == (1, 8, 8)
    k = (pts + 1) * 8
    assert torch.equal(k, k.round())  # exactly on the grid (v/8 - 1 is exact in float64)
    assert set(k.unique().tolist()) == set(range(17))
    assert float(pts.min()) == -1.0 and float(pts.max()) == 1.0
    ent = ds.entropy()
    assert ent.kind == "shannon" and abs(ent.value - math.log(1797)) <= 1e-12  # all distinct


def test_empirical_rejects_off_grid_points() -> None:
    with pytest.raises(ValueError, match="17-level grid"):
        EmpiricalDataset(torch.tensor([[0.01]]), levels=17)


def test_mixture_validation() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        GaussianMixture([0.5, 0.6], [[0.0], [1.0]], [[[1.0]], [[1.0]]])
    with pytest.raises(ValueError, match="not positive definite"):
        GaussianMixture([1.0], [[0.0, 0.0]], [[[1.0, 2.0], [2.0, 1.0]]])


def test_gaussian_entropy_closed_form() -> None:
    ds = get_dataset("gaussian")
    cov = ds.covs[0].numpy()
    want = 0.5 * math.log(np.linalg.det(2 * math.pi * math.e * cov))
    assert abs(ds.entropy().value - want) <= 1e-13


# -- sampled moments (S3/S4, statistical) ---------------------------------------------------
def _exact_moments(ds: GaussianMixture) -> tuple[np.ndarray, np.ndarray]:
    w, m, S = ds.weights.numpy(), ds.means.numpy(), ds.covs.numpy()
    mean = (w[:, None] * m).sum(0)
    second = (w[:, None] * (np.diagonal(S, axis1=1, axis2=2) + m**2)).sum(0)
    return mean, second - mean**2


MOMENT_SETS = ["standard_gaussian", "gaussian", "mixture_1d", "mixture_2d", "ring8"]
N_CHECKS = sum(get_dataset(n).dim for n in MOMENT_SETS) + 2  # + the two two_moons coordinates


@pytest.mark.statistical
def test_sampled_means_agree_with_exact_means(seed: int) -> None:
    """Sample means of n = 1e5 draws against the exact mixture means, SE from the exact
    variance (closed form); the 1e-6 false-alarm budget is split over all N_CHECKS
    coordinates (z ~ 5.7). Power: a mean error of 0.05 is caught with probability
    >= 0.999 (asserted by assert_agrees' must_detect). two_moons has mean (0, 0)
    exactly (E cos = 0, E sin = 2/pi on U(0, pi), mirrored); its SE is estimated from
    the n >= 1e4 draws (docs/verification.md S3)."""
    n = 100_000
    assert z_threshold(n_examples=N_CHECKS) < 6.0
    for i, name in enumerate(MOMENT_SETS):
        ds = get_dataset(name)
        x = ds.sample(n, torch.Generator().manual_seed(seed + 1 + i), dtype=torch.float64).numpy()
        mean, var = _exact_moments(ds)
        for j in range(ds.dim):
            est = Estimate(float(x[:, j].mean()), math.sqrt(var[j] / n), n, Method.MONTE_CARLO)
            assert_agrees(est, float(mean[j]), must_detect=0.05, n_examples=N_CHECKS,
                          what=f"{name} mean[{j}]")
    x = get_dataset("two_moons").sample(n, torch.Generator().manual_seed(seed),
                                        dtype=torch.float64).numpy()
    for j in range(2):
        assert_agrees(sample_mean(x[:, j]), 0.0, must_detect=0.05, n_examples=N_CHECKS,
                      what=f"moons[{j}]")


@pytest.mark.statistical
def test_mixture_1d_samples_follow_its_cdf(seed: int) -> None:
    """S4: Kolmogorov-Smirnov against the exact mixture CDF (scipy's exact null), at the
    per-run level of the 1e-6 budget."""
    from scipy import stats

    from ddpm_theory.numeric.acceptance import assert_gof

    ds = get_dataset("mixture_1d")
    w, m, s = ds.weights.numpy(), ds.means.numpy()[:, 0], np.sqrt(ds.covs.numpy()[:, 0, 0])

    def cdf(x):
        return sum(wk * stats.norm.cdf(x, mk, sk) for wk, mk, sk in zip(w, m, s))

    def swapped(x):  # planted: the weights attached to the wrong components
        return sum(wk * stats.norm.cdf(x, mk, sk) for wk, mk, sk in zip(w[::-1], m, s))

    from ddpm_theory.numeric.acceptance import ks_power_lower_bound

    # power against the planted slip, computed (exact binomial bound) before the draw
    assert ks_power_lower_bound(5000, cdf, swapped, np.linspace(-3, 3, 241), n_examples=1) \
        >= 1 - 1e-3
    x = ds.sample(5000, torch.Generator().manual_seed(seed), dtype=torch.float64).numpy()[:, 0]
    assert_gof(x, cdf, n_examples=1)
    with pytest.raises(AssertionError):
        assert_gof(x, swapped, n_examples=1)
