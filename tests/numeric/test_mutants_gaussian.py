"""Shapes, reductions and bad-input errors of ddpm_theory.numeric.gaussian.

test_numeric_gaussian.py checks the values against SciPy and torch on single points and
flat batches; these pin what mutation testing found unpinned: the reduction axis of the
diagonal forms, batched inputs of more than one leading axis, and the messages of the
errors (each names the argument at fault).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ddpm_theory.numeric import gaussian as g

RNG_SEED = 20261130


def _batch() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(RNG_SEED)
    x = rng.standard_normal((2, 5, 3))
    mean = rng.standard_normal(3)
    a = rng.standard_normal((3, 3))
    return x, mean, a @ a.T + 3.0 * np.eye(3)


def test_mvn_log_density_on_a_batch_with_two_leading_axes() -> None:
    """Planted: ``d.shape[-1]`` -> ``d.shape[+1]`` (the size check on the wrong axis),
    ``reshape(-1, k)`` -> ``reshape(-2, k)``, ``d.shape[:-1]`` -> ``d.shape[:+1]``."""
    x, mean, cov = _batch()
    got = g.mvn_log_density(x, mean, cov)
    assert got.shape == (2, 5)
    want = stats.multivariate_normal(mean, cov).logpdf(x.reshape(-1, 3)).reshape(2, 5)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_diagonal_forms_reduce_over_the_last_axis_only() -> None:
    """Planted: ``np.sum(..., axis=-1)`` -> ``axis=None`` (or the axis dropped) in
    diag_normal_log_density, kl_diag_normal and diag_normal_entropy."""
    x, mean, _ = _batch()
    var = np.array([0.5, 1.0, 2.0])
    logp = g.diag_normal_log_density(x, mean, var)
    assert logp.shape == (2, 5)
    np.testing.assert_allclose(logp, stats.norm(mean, np.sqrt(var)).logpdf(x).sum(-1),
                               rtol=1e-12)  # fmt: skip
    kl = g.kl_diag_normal(x, var, mean, 2.0 * var)
    assert kl.shape == (2, 5)
    np.testing.assert_allclose(kl, g.kl_normal(x, var, mean, 2.0 * var).sum(-1), rtol=1e-14)
    h = g.diag_normal_entropy(np.stack([var, 2.0 * var]))
    np.testing.assert_allclose(h, [g.mvn_entropy(np.diag(var)), g.mvn_entropy(np.diag(2 * var))],
                               rtol=1e-12)  # fmt: skip


def test_entropy_of_a_full_covariance() -> None:
    """Planted: the dimension factor ``d (1 + log 2 pi)`` or the log-determinant changed."""
    _, _, cov = _batch()
    want = stats.multivariate_normal(np.zeros(3), cov).entropy()
    assert g.mvn_entropy(cov) == pytest.approx(want, rel=1e-12)
    assert g.normal_entropy(1.0) == pytest.approx(0.5 * (1.0 + math.log(2 * math.pi)))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: g.normal_log_density(0.0, 0.0, 0.0), ValueError, "^var must be > 0$"),
        (lambda: g.normal_entropy(-1.0), ValueError, "^var must be > 0$"),
        (lambda: g.kl_normal(0.0, 0.0, 0.0, 1.0), ValueError, "^var1 must be > 0$"),
        (lambda: g.kl_normal(0.0, 1.0, 0.0, np.nan), ValueError, "^var2 must be > 0$"),
        (lambda: g.mvn_entropy(np.ones(3)), ValueError,
         r"^covariance must be square; got shape \(3,\)$"),
        (lambda: g.mvn_entropy(np.ones((2, 3))), ValueError,
         r"^covariance must be square; got shape \(2, 3\)$"),
        (lambda: g.mvn_log_density(np.zeros((4, 2)), np.zeros(2), np.eye(3)), ValueError,
         "^x has last dimension 2, covariance is 3x3$"),
        (lambda: g.mvn_log_density(np.zeros((2, 5, 2)), np.zeros(2), np.eye(3)), ValueError,
         "^x has last dimension 2, covariance is 3x3$"),
        (lambda: g.kl_mvn(np.zeros(2), np.eye(2), np.zeros(2), np.eye(3)), ValueError,
         "^covariances have different sizes$"),
        (lambda: g.kl_mvn(np.zeros(3), np.eye(2), np.zeros(3), np.eye(2)), ValueError,
         r"^means must have shape \(2,\); got \(3,\)$"),
    ],
)  # fmt: skip
def test_bad_input_is_named_in_the_error(call, error, match) -> None:
    """Planted: a message replaced (``None``, "XX...XX", another argument's name) or a
    validity check dropped or loosened (``> 0`` -> ``>= 0``; ``!=`` -> ``==``)."""
    with pytest.raises(error, match=match):
        call()


def test_kl_mvn_against_the_trace_formula() -> None:
    """Planted: ``mean2 - mean1`` sign or order, the trace ``||L2^-1 L1||_F^2``, the
    ``- k`` term or the log-determinants' order changed."""
    _, mean, cov = _batch()
    cov2 = cov + np.diag([1.0, 0.5, 2.0])
    m2 = mean + np.array([0.3, -0.2, 0.1])
    inv2 = np.linalg.inv(cov2)
    dm = m2 - mean
    want = 0.5 * (np.trace(inv2 @ cov) + dm @ inv2 @ dm - 3
                  + np.linalg.slogdet(cov2)[1] - np.linalg.slogdet(cov)[1])  # fmt: skip
    assert g.kl_mvn(mean, cov, m2, cov2) == pytest.approx(want, rel=1e-12)


def _full_covariance_calls() -> list:
    x, mean, cov = _batch()
    cov2 = cov + np.diag([1.0, 0.5, 2.0])
    return [
        pytest.param(g.mvn_log_density, (x, mean, cov), id="mvn_log_density"),
        pytest.param(g.kl_mvn, (mean, cov, 0.5 * mean, cov2), id="kl_mvn"),
        pytest.param(g.mvn_entropy, (cov,), id="mvn_entropy"),
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.longdouble])
@pytest.mark.parametrize(("f", "args"), _full_covariance_calls())
def test_full_covariance_forms_compute_in_float64(f, args, dtype) -> None:
    """Planted: a dropped ``dtype=np.float64`` in _chol or in the means' conversion: a
    float32 covariance would be factorised in float32, a long-double argument would make
    the result long double (or be refused by LAPACK). Each argument in turn is given in
    DTYPE (its value exactly representable); the result must equal the float64 call."""
    for i in range(len(args)):
        low = [a if j != i else a.astype(dtype) for j, a in enumerate(args)]
        ref = [a if j != i else a.astype(dtype).astype(np.float64) for j, a in enumerate(args)]
        got, want = np.asarray(f(*low)), np.asarray(f(*ref))
        assert got.dtype == np.float64, (f.__name__, i)
        assert np.array_equal(got, want), (f.__name__, i, got, want)
