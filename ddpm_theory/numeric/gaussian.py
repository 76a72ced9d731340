"""Float64 closed forms for Gaussians: KL divergences, log-densities, entropies.

All results are in nats.  These are the reference values the numeric tests
compare estimators against; they are cross-checked in ``tests/numeric`` against
``scipy.stats`` and ``torch.distributions`` (docs/verification.md rule 5) and will be
checked against the ``lambdify``'d symbolic derivations (tier S1) once those
are registered.

Formulas (e.g. Bishop, *Pattern Recognition and Machine Learning*, 2006,
Eqs. 2.43 and 1.104; Kullback 1959; Ho et al. 2020 use the univariate KL in
Eq. 5 "computed in a Rao-Blackwellized fashion with closed form expressions"):

* log N(x; mu, s^2)             = -1/2 [log(2 pi s^2) + (x - mu)^2 / s^2]
* KL(N(m1, s1^2) || N(m2, s2^2)) = 1/2 [log(s2^2/s1^2) + (s1^2 + (m1 - m2)^2)/s2^2 - 1]
* KL(N(m1, S1) || N(m2, S2))     = 1/2 [tr(S2^-1 S1) + (m2-m1)^T S2^-1 (m2-m1) - d
                                        + log det S2 - log det S1]
* H(N(mu, S))                    = 1/2 [d (1 + log 2 pi) + log det S]

Variance arguments are variances (s^2), never standard deviations.  Diagonal
forms reduce over the last axis; full-covariance forms use Cholesky factors, so
log-determinants and solves are backward stable for well-conditioned S.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg

__all__ = [
    "normal_log_density",
    "diag_normal_log_density",
    "mvn_log_density",
    "kl_normal",
    "kl_diag_normal",
    "kl_mvn",
    "normal_entropy",
    "diag_normal_entropy",
    "mvn_entropy",
]

_LOG_2PI = math.log(2.0 * math.pi)


def _positive(var: ArrayLike, what: str) -> np.ndarray:
    v = np.asarray(var, dtype=np.float64)
    if not np.all(v > 0.0):
        raise ValueError(f"{what} must be > 0")
    return v


def normal_log_density(x: ArrayLike, mean: ArrayLike, var: ArrayLike) -> np.ndarray:
    """log N(x; mean, var), elementwise (univariate, broadcasting)."""
    v = _positive(var, "var")
    d = np.asarray(x, dtype=np.float64) - np.asarray(mean, dtype=np.float64)
    return -0.5 * (_LOG_2PI + np.log(v) + d * d / v)


def diag_normal_log_density(x: ArrayLike, mean: ArrayLike, var: ArrayLike) -> np.ndarray:
    """log N(x; mean, diag(var)), summed over the last axis."""
    return np.sum(normal_log_density(x, mean, var), axis=-1)


def _chol(cov: ArrayLike) -> np.ndarray:
    c = np.asarray(cov, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"covariance must be square; got shape {c.shape}")
    return linalg.cholesky(c, lower=True)


def _logdet(chol: np.ndarray) -> float:
    return 2.0 * float(np.sum(np.log(np.diag(chol))))


def mvn_log_density(x: ArrayLike, mean: ArrayLike, cov: ArrayLike) -> np.ndarray:
    """log N(x; mean, cov) for ``x`` of shape ``(..., d)`` and a (d, d) covariance."""
    lc = _chol(cov)
    d = np.asarray(x, dtype=np.float64) - np.asarray(mean, dtype=np.float64)
    k = lc.shape[0]
    if d.shape[-1] != k:
        raise ValueError(f"x has last dimension {d.shape[-1]}, covariance is {k}x{k}")
    flat = d.reshape(-1, k)
    w = linalg.solve_triangular(lc, flat.T, lower=True)  # (d, n): L^{-1}(x - mean)
    maha = np.sum(w * w, axis=0).reshape(d.shape[:-1])
    return -0.5 * (k * _LOG_2PI + _logdet(lc) + maha)


def kl_normal(
    mean1: ArrayLike, var1: ArrayLike, mean2: ArrayLike, var2: ArrayLike
) -> np.ndarray:
    """KL(N(mean1, var1) || N(mean2, var2)) in nats, elementwise."""
    v1 = _positive(var1, "var1")
    v2 = _positive(var2, "var2")
    dm = np.asarray(mean1, dtype=np.float64) - np.asarray(mean2, dtype=np.float64)
    r = v1 / v2
    return 0.5 * (r - 1.0 - np.log(r) + dm * dm / v2)


def kl_diag_normal(
    mean1: ArrayLike, var1: ArrayLike, mean2: ArrayLike, var2: ArrayLike
) -> np.ndarray:
    """KL between diagonal Gaussians, summed over the last axis."""
    return np.sum(kl_normal(mean1, var1, mean2, var2), axis=-1)


def kl_mvn(mean1: ArrayLike, cov1: ArrayLike, mean2: ArrayLike, cov2: ArrayLike) -> float:
    """KL(N(mean1, cov1) || N(mean2, cov2)) for full (d, d) covariances."""
    l1 = _chol(cov1)
    l2 = _chol(cov2)
    k = l1.shape[0]
    if l2.shape[0] != k:
        raise ValueError("covariances have different sizes")
    dm = np.asarray(mean2, dtype=np.float64) - np.asarray(mean1, dtype=np.float64)
    if dm.shape != (k,):
        raise ValueError(f"means must have shape ({k},); got {dm.shape}")
    a = linalg.solve_triangular(l2, l1, lower=True)  # L2^{-1} L1: tr(S2^-1 S1) = ||A||_F^2
    b = linalg.solve_triangular(l2, dm, lower=True)
    trace = float(np.sum(a * a))
    maha = float(b @ b)
    return 0.5 * (trace + maha - k + _logdet(l2) - _logdet(l1))


def normal_entropy(var: ArrayLike) -> np.ndarray:
    """Differential entropy of N(., var) in nats, elementwise."""
    return 0.5 * (1.0 + _LOG_2PI + np.log(_positive(var, "var")))


def diag_normal_entropy(var: ArrayLike) -> np.ndarray:
    """Entropy of N(., diag(var)), summed over the last axis."""
    return np.sum(normal_entropy(var), axis=-1)


def mvn_entropy(cov: ArrayLike) -> float:
    """Entropy of N(., cov) for a full (d, d) covariance."""
    lc = _chol(cov)
    return 0.5 * (lc.shape[0] * (1.0 + _LOG_2PI) + _logdet(lc))
