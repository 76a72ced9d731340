"""Gaussian mixtures: the checks of their parameters, float64 storage, sampling, the
laws of x_t and the entropy rule, against scipy and numpy. Written against the survivors
of mutation testing (mutation/run.py); each docstring names the planted error(s) it
catches."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from numpy.polynomial.hermite_e import hermegauss
from scipy import integrate, special, stats

from ddpm_theory.backend.data import get_dataset
from ddpm_theory.backend.dataset import Entropy
from ddpm_theory.backend.mixture import GaussianMixture

F64 = torch.float64
EPS = np.finfo(np.float64).eps


# -- Gaussian mixtures (mixture.py) ---------------------------------------------------------
def _numpy_gh_entropy(ds: GaussianMixture, n: int) -> float:
    """−Σ_k w_k E_{N(m_k, S_k)}[log p] by a tensor Gauss–Hermite rule of n nodes per
    dimension, written with numpy's Cholesky and scipy's log-densities (an independent
    implementation of the rule the docstring states)."""
    w, m, S = ds.weights.numpy(), ds.means.numpy(), ds.covs.numpy()
    z1, w1 = hermegauss(n)
    w1 = w1 / math.sqrt(2 * math.pi)
    d = m.shape[1]
    z = np.stack(np.meshgrid(*[z1] * d, indexing="ij"), -1).reshape(-1, d)
    wz = np.prod(np.stack(np.meshgrid(*[w1] * d, indexing="ij"), -1).reshape(-1, d), 1)
    total = 0.0
    for k in range(len(w)):
        x = m[k] + z @ np.linalg.cholesky(S[k]).T
        logs = [math.log(w[j]) + stats.multivariate_normal.logpdf(x, m[j], S[j])
                for j in range(len(w))]  # fmt: skip
        total -= w[k] * float((wz * special.logsumexp(np.stack(logs), axis=0)).sum())
    return total


GH_METHOD = "per-component tensor Gauss-Hermite, 96 nodes per dimension; error |Q48 - Q96|"


@pytest.mark.parametrize("name", ["mixture_1d", "mixture_2d"])
def test_mixture_entropy_is_q96_with_error_q48_minus_q96(name: str) -> None:
    """The documented rule: the value is the 96-node rule, the error |Q48 − Q96|, against
    numpy/scipy. Planted: the node counts changed (48 -> 49, 96 -> 97), the error
    ``|fine + coarse|``, the N(0, 1) weights ``· √(2π)`` or ``/ √(2/π)``, the sum's sign,
    start or product slipped, the grids built without their ``ij`` pairing of nodes and
    weights, the nodes mapped by ``m − L z``, an argument of the record dropped."""
    ds = get_dataset(name)
    fine, coarse = _numpy_gh_entropy(ds, 96), _numpy_gh_entropy(ds, 48)
    ent = ds.entropy()
    assert ent.method == GH_METHOD and ent.kind == "differential" and ent.units == "nats"
    assert abs(ent.value - fine) <= 1e-12 * abs(fine)
    assert abs(ent.abs_error - abs(fine - coarse)) <= 1e-12 * abs(fine)
    assert ent.abs_error > 1e-9  # large enough that the 49-node rule is told apart


def test_mixture_1d_entropy_is_within_its_stated_error() -> None:
    """−∫ p log p by scipy's adaptive quadrature: the reported error covers the truth."""
    ds = get_dataset("mixture_1d")

    def p(u: float) -> float:
        return sum(w * stats.norm.pdf(u, m, s) for w, m, s in zip((0.3, 0.7), (-1.5, 1.0),
                                                                  (0.4, 0.6)))  # fmt: skip

    want, err = integrate.quad(lambda u: -p(u) * math.log(p(u)) if p(u) > 0 else 0.0, -15, 15,
                               points=[-1.5, 1.0], epsabs=1e-14, limit=200)  # fmt: skip
    ent = ds.entropy()
    assert abs(ent.value - want) <= ent.abs_error + err


def test_entropy_dispatch_by_components_and_dimension(monkeypatch: pytest.MonkeyPatch) -> None:
    """K = 1: the closed form ½ log det(2πeS) with error 0; K > 1 and d <= 3: the
    quadrature (stubbed here, since 96³ nodes take seconds; the stub returns its node
    count); d = 4: refused by name. Planted: ``K == 1`` -> ``!= 1`` / ``== 2``, ``d > 3`` ->
    ``>= 3`` / ``> 4``, the closed form's error 0 changed, its method's words replaced or
    their case changed, the refusal's words replaced or their case changed."""
    S = np.array([[2.0, 0.3], [0.3, 0.5]])
    one = GaussianMixture([1.0], [[0.0, 1.0]], [S])
    want = 0.5 * math.log(np.linalg.det(2 * math.pi * math.e * S))
    assert one.entropy() == Entropy(pytest.approx(want, rel=1e-14), 0.0,
                                    "closed form ½ log det(2πeS)")  # fmt: skip
    monkeypatch.setattr(GaussianMixture, "_gauss_hermite_entropy", lambda self, n: float(n))
    eye3, eye4 = np.eye(3), np.eye(4)
    three = GaussianMixture([0.5, 0.5], np.zeros((2, 3)), [eye3, 2 * eye3])
    assert three.has_entropy and three.entropy() == Entropy(96.0, 48.0, GH_METHOD)
    four = GaussianMixture([0.5, 0.5], np.zeros((2, 4)), [eye4, 2 * eye4])
    assert not four.has_entropy
    with pytest.raises(NotImplementedError, match=(
            r"^dataset 'gaussian_mixture' has no known entropy \(quadrature is offered for "
            r"d <= 3 only\)\.$")):  # fmt: skip
        four.entropy()


@pytest.mark.parametrize(
    ("weights", "means", "covs", "match"),
    [
        ([0.5, 0.25, 0.25], [[0.0], [1.0]], [[[1.0]], [[1.0]]],
         r"^need weights \(K,\), means \(K, d\), covs \(K, d, d\); got \(3,\), \(2, 1\), "
         r"\(2, 1, 1\)\.$"),
        ([0.5, 0.5], [[0.0], [1.0]], [[[1.0]]],
         r"^need weights \(K,\), means \(K, d\), covs \(K, d, d\); got \(2,\), \(2, 1\), "
         r"\(1, 1, 1\)\.$"),
        ([0.5, 0.5], [0.0, 1.0], [[[1.0]], [[1.0]]],
         r"^need weights \(K,\), means \(K, d\), covs \(K, d, d\); got \(2,\), \(2,\), "
         r"\(2, 1, 1\)\.$"),
        ([0.0, 1.0], [[0.0], [1.0]], [[[1.0]], [[1.0]]],
         r"^mixture weights must be positive and sum to 1; got \[0\.0, 1\.0\]\.$"),
        ([-0.5, 1.5], [[0.0], [1.0]], [[[1.0]], [[1.0]]],
         r"^mixture weights must be positive and sum to 1; got \[-0\.5, 1\.5\]\.$"),
        ([1.0], [[0.0, 0.0]], [[[1.0, 0.5], [0.5 + 1e-12, 1.0]]],
         r"^component covariances must be exactly symmetric\.$"),
        ([1.0], [[0.0, 0.0]], [[[1.0, 0.5], [0.9, 1.0]]],
         r"^component covariances must be exactly symmetric\.$"),
        ([0.5, 0.5], [[0.0], [1.0]], [[[1.0]], [[-1.0]]],
         r"^covariance of component 1 is not positive definite\.$"),
    ],
)  # fmt: skip
def test_mixture_refuses_bad_parameters_by_name(weights, means, covs, match: str) -> None:
    """Planted: an ``or`` of the shape check made ``and`` (a wrong weights or covs shape, or
    1-D means, let through), a shape in the message replaced by None, ``w <= 0`` -> ``w < 0``
    (a zero weight let through), the weight test replaced by None, the symmetry test's
    tolerances loosened (rtol or atol dropped to allclose's defaults, or set to 1) or its
    transpose removed, the offending component's index replaced by None, a message
    replaced by None or its case changed."""
    with pytest.raises(ValueError, match=match):
        GaussianMixture(weights, means, covs)


def test_mixture_works_in_float64_whatever_it_is_given() -> None:
    """Integer and float32 parameters are stored as float64 and the weights renormalised
    exactly (w / Σw: 1 + 5e-13 is within the 1e-12 tolerance). Planted: the float64
    conversion of weights (integer or float32 weights kept), means or covariances
    dropped, ``w / w.sum()`` -> ``w * w.sum()``. Log-densities against scipy."""
    w = np.array([0.25, 0.75 + 5e-13])
    ds = GaussianMixture(w, np.array([[0, 1], [2, -1]]),
                         np.array([[[2, 1], [1, 2]], [[1, 0], [0, 3]]], dtype=np.float32))
    assert ds.weights.dtype == ds.means.dtype == ds.covs.dtype == F64
    np.testing.assert_array_equal(ds.weights.numpy(), w / w.sum())
    x = np.array([[0.3, -0.2], [1.0, 2.0]])
    want = special.logsumexp(np.stack([
        np.log(w[0] / w.sum()) + stats.multivariate_normal.logpdf(x, [0, 1], [[2, 1], [1, 2]]),
        np.log(w[1] / w.sum()) + stats.multivariate_normal.logpdf(x, [2, -1], [[1, 0], [0, 3]]),
    ]), axis=0)
    np.testing.assert_allclose(ds.log_prob(torch.as_tensor(x)).numpy(), want, rtol=1e-14)
    for weights in (np.array([1]), np.array([0.25, 0.75], dtype=np.float32)):
        k = len(weights)
        one = GaussianMixture(weights, np.zeros((k, 1)), np.ones((k, 1, 1)))
        assert one.weights.dtype == F64 and one.weights.tolist() == weights.tolist()


def test_mixture_without_a_name_records_its_parameters() -> None:
    """Planted: the default name "gaussian_mixture" garbled or its case changed, the
    recorded parameters' keys garbled, the default record replaced by ``dict(args)`` of
    None."""
    ds = GaussianMixture([0.5, 0.5], [[0.0], [1.0]], [[[1.0]], [[2.0]]])
    assert ds.config() == {"name": "gaussian_mixture", "args": {
        "weights": [0.5, 0.5], "means": [[0.0], [1.0]], "covs": [[[1.0]], [[2.0]]]}}
    again = GaussianMixture(**ds.config()["args"])
    assert torch.equal(again.covs, ds.covs) and torch.equal(again.means, ds.means)


def test_mixture_shape_error_names_both_shapes() -> None:
    """Planted: the message replaced by None, or its actual shape."""
    with pytest.raises(ValueError, match=r"^expected shape \(B, 2\); got \(3, 3\)\.$"):
        get_dataset("mixture_2d").log_prob(torch.zeros(3, 3))


def test_mixture_sampling_is_mean_plus_cholesky_times_normal() -> None:
    """x = m_k + L_k z, k ~ Categorical(w), z ~ N(0, I), from the same draws (component,
    then normal), L_k by numpy's Cholesky. Planted: ``m_k + L z`` -> ``m_k − L z``."""
    ds = get_dataset("mixture_2d")
    got = ds.sample(300, torch.Generator().manual_seed(4), dtype=F64).numpy()
    g = torch.Generator().manual_seed(4)
    k = torch.multinomial(ds.weights, 300, replacement=True, generator=g).numpy()
    z = torch.randn(300, 2, generator=g, dtype=F64).numpy()
    L = np.linalg.cholesky(ds.covs.numpy())
    want = ds.means.numpy()[k] + np.einsum("nij,nj->ni", L[k], z)
    np.testing.assert_allclose(got, want, rtol=0, atol=8 * EPS)


def test_mixture_laws_of_x_t_with_one_alpha_bar_per_row() -> None:
    """Batch of 3 ≠ d = 1, one ᾱ per row, float32 input; x_t | k ~ N(√ᾱ m_k, ᾱ s_k² + 1 − ᾱ)
    by scipy. Planted: the batch of ᾱ's column read from ``shape[1]``, the dtype of the
    posterior mean not restored."""
    ds = get_dataset("mixture_1d")
    x_t = torch.tensor([[-1.0], [0.3], [2.0]])
    a = np.array([0.2, 0.5, 0.9])
    w, m, s2 = np.array([0.3, 0.7]), np.array([-1.5, 1.0]), np.array([0.16, 0.36])
    x = x_t.double().numpy()
    var = a[:, None] * s2 + 1 - a[:, None]
    joint = w * stats.norm.pdf(x, np.sqrt(a)[:, None] * m, np.sqrt(var))
    cond = m + np.sqrt(a)[:, None] * s2 / var * (x - np.sqrt(a)[:, None] * m)
    want_mean = (joint * cond).sum(1) / joint.sum(1)
    lp = ds.marginal_log_prob(x_t, torch.as_tensor(a))
    assert lp.dtype == F64
    np.testing.assert_allclose(lp.numpy(), np.log(joint.sum(1)), rtol=1e-13)
    got = ds.posterior_mean_x0(x_t, torch.as_tensor(a))
    assert got.dtype == torch.float32 and got.shape == (3, 1)
    np.testing.assert_allclose(got.numpy()[:, 0], want_mean, rtol=1e-6)
