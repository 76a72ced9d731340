"""Estimators of Gaussian expectations that report their own error.

Every estimator here computes ``E[f(Z)]`` for ``Z ~ N(0, I_d)`` and returns an
:class:`Estimate` (value, standard error, sample size, method, degrees of
freedom).  Expectations under any other Gaussian are reduced to this one by the
affine map ``x = mu + L z`` inside ``f``; every law in DDPM is Gaussian given
its conditioning, so this single base measure covers the project's needs.

Methods
-------
* :func:`monte_carlo` -- plain Monte-Carlo; SE = sample sd / sqrt(n)
  (Owen, *Monte Carlo theory, methods and examples*, 2013, ch. 2), with the sample
  skewness of the integrand values for the skewness-corrected acceptance rule
  (:func:`sample_mean` does the same for summands computed elsewhere).
* :func:`control_variate` -- regression control variates with known means
  (Owen 2013, section 8.9; Glasserman, *Monte Carlo Methods in Financial
  Engineering*, 2004, section 4.1).  SE from the residual variance with
  ``n - k - 1`` degrees of freedom (and the residuals' sample skewness: the
  intercept is the mean of ``y - G b``).  :func:`quadratic_controls` gives the
  centred degree-<=2 monomials of ``z``; their means are zero, and a Gaussian
  log-density ratio is a quadratic in ``z``, so a Gaussian KL is estimated with
  zero residual (docs/verification.md rule 3).
* :func:`rqmc` -- randomised quasi-Monte-Carlo: ``R >= 16`` independent
  scrambles of a Sobol' net, mapped to N(0, I) by the inverse normal CDF.
  SciPy scrambles by Matousek's linear matrix scramble plus a digital shift,
  whose variance equals that of Owen's nested scrambling (Owen 1997, "Scrambled
  net variance for integrals of smooth functions", Ann. Statist. 25:1541; Owen
  2003, "Variance with alternative scramblings of digital nets", ACM TOMACS
  13:363).  The ``R`` replicate means are i.i.d. and unbiased, so SE =
  sd / sqrt(R) with ``R - 1`` degrees of freedom; acceptance thresholds use
  Student's t with that many degrees of freedom (``Estimate.dof``).  The t
  reference assumes near-normal replicate means: true for smooth integrands in
  d >= 2 (tested), *not* for 1-D integrands, whose scrambled means are visibly
  non-normal -- use :func:`gauss_hermite` in 1-D.
* :func:`gauss_hermite` -- tensor-product Gauss--Hermite quadrature with
  probabilists' weights; exact for polynomials of degree <= 2n - 1 in each
  coordinate (Golub & Welsch 1969).  Deterministic: ``stderr`` is 0 and
  ``bias_bound`` carries ``|Q_n - Q_{2n}|`` as a truncation-error estimate.

Randomness always comes from an explicit ``numpy.random.Generator``
(docs/verification.md rule 1); nothing here touches global RNG state.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy.stats import qmc

__all__ = [
    "Estimate",
    "Method",
    "Integrand",
    "monte_carlo",
    "sample_mean",
    "sample_skewness",
    "control_variate",
    "quadratic_controls",
    "rqmc",
    "gauss_hermite",
    "MAX_QUADRATURE_NODES",
]

Integrand = Callable[[np.ndarray], np.ndarray]
"""``f(z)`` with ``z`` of shape ``(n, d)`` returning shape ``(n,)`` (float64)."""

MAX_QUADRATURE_NODES = 2_000_000
"""Cap on the tensor-product grid size ``n_nodes ** d``."""


class Method(enum.Enum):
    """How an :class:`Estimate` was produced."""

    MONTE_CARLO = "monte_carlo"
    CONTROL_VARIATE = "control_variate"
    RQMC = "rqmc"
    GAUSS_HERMITE = "gauss_hermite"


@dataclass(frozen=True)
class Estimate:
    """An estimate of an expectation with its standard error.

    Attributes
    ----------
    value : float
        The estimate.
    stderr : float
        One standard error of ``value`` (0 for deterministic quadrature).
    n : int
        Number of integrand evaluations.
    method : Method
        The estimator used.
    dof : float
        Degrees of freedom of the studentised error ``(value - truth) / stderr``:
        ``math.inf`` where the normal approximation applies (MC with large n),
        ``R - 1`` for RQMC with ``R`` scrambles, ``n - k - 1`` for k control variates.
    bias_bound : float
        Estimated deterministic error (quadrature truncation); 0 for unbiased estimators.
    skewness : float
        Sample skewness of the ``n`` i.i.d. summands whose mean is ``value`` (plain MC:
        the integrand values; control variates: the residuals), for the skewness-corrected
        acceptance rule (:mod:`~ddpm_theory.numeric.acceptance`).  0 where the studentised
        error is symmetric (Gaussian replicates, an exact SE, quadrature).
    """

    value: float
    stderr: float
    n: int
    method: Method
    dof: float = math.inf
    bias_bound: float = 0.0
    skewness: float = 0.0

    def __post_init__(self) -> None:
        if not (self.stderr >= 0.0) or not (self.bias_bound >= 0.0):
            raise ValueError(f"stderr and bias_bound must be >= 0; got {self}")
        if not math.isfinite(self.skewness):
            raise ValueError(f"skewness must be finite; got {self}")
        if self.n < 1 or not (self.dof > 0):
            raise ValueError(f"n must be >= 1 and dof > 0; got {self}")

    def z_score(self, exact: float) -> float:
        """``(value - exact) / stderr`` (``inf`` or ``nan`` when stderr is 0)."""
        diff = self.value - exact
        if self.stderr == 0.0:
            return 0.0 if diff == 0.0 else math.copysign(math.inf, diff)
        return diff / self.stderr


def _evaluate(f: Integrand, z: np.ndarray) -> np.ndarray:
    y = np.asarray(f(z), dtype=np.float64)
    if y.shape != (z.shape[0],):
        raise ValueError(f"integrand must return shape ({z.shape[0]},); got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise FloatingPointError("integrand returned non-finite values")
    return y


def _check_dim(dim: int) -> None:
    if int(dim) != dim or dim < 1:
        raise ValueError(f"dim must be a positive integer; got {dim!r}")


def sample_skewness(y: np.ndarray) -> float:
    """``m_3 / m_2^{3/2}`` with central sample moments ``m_k`` (0 for constant ``y``)."""
    y = np.asarray(y, dtype=np.float64).ravel()
    d = y - y.mean()
    m2 = float(np.mean(d * d))
    return float(np.mean(d * d * d)) / m2**1.5 if m2 > 0.0 else 0.0


def sample_mean(y: np.ndarray, method: Method = Method.MONTE_CARLO) -> Estimate:
    """The mean of i.i.d. summands ``y`` with SE = sample sd / sqrt(n) and their skewness."""
    y = np.asarray(y, dtype=np.float64).ravel()
    if y.size < 3:
        raise ValueError(f"need n >= 3 summands for a standard error and a skewness; got {y.size}")
    if not np.all(np.isfinite(y)):
        raise FloatingPointError("summands must be finite")
    return Estimate(float(y.mean()), float(y.std(ddof=1) / math.sqrt(y.size)), int(y.size),
                    method, skewness=sample_skewness(y))


def monte_carlo(f: Integrand, dim: int, n: int, rng: np.random.Generator) -> Estimate:
    """Plain Monte-Carlo estimate of ``E[f(Z)]``, ``Z ~ N(0, I_dim)``.

    >>> import numpy as np
    >>> est = monte_carlo(lambda z: z[:, 0] ** 2, 1, 10_000, np.random.default_rng(0))
    >>> abs(est.value - 1.0) < 6 * est.stderr
    True
    """
    _check_dim(dim)
    if n < 3:
        raise ValueError("need n >= 3 for a standard error and a skewness")
    z = rng.standard_normal((n, dim))
    return sample_mean(_evaluate(f, z))


def quadratic_controls(z: np.ndarray, *, cross: bool = True) -> np.ndarray:
    """Centred monomials of degree 1 and 2 in ``z``; all have mean 0 under N(0, I).

    Columns: ``z_i`` (d of them), ``z_i**2 - 1`` (d), and when ``cross`` the
    products ``z_i z_j`` for ``i < j`` (d(d-1)/2).  Any quadratic polynomial in
    ``z`` is an affine function of these columns.
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"z must have shape (n, d); got {z.shape}")
    cols = [z, z * z - 1.0]
    if cross and z.shape[1] > 1:
        i, j = np.triu_indices(z.shape[1], k=1)
        cols.append(z[:, i] * z[:, j])
    return np.concatenate(cols, axis=1)


def control_variate(
    f: Integrand,
    controls: Callable[[np.ndarray], np.ndarray],
    dim: int,
    n: int,
    rng: np.random.Generator,
) -> Estimate:
    """Regression control-variate estimate of ``E[f(Z)]``.

    ``controls(z)`` returns an ``(n, k)`` array whose columns have *known mean
    zero* under N(0, I) (centre them before passing, e.g. with
    :func:`quadratic_controls`).  The estimate is the intercept of the least-
    squares fit ``f ~ b0 + G b``; its SE is ``s_res * sqrt([(X^T X)^{-1}]_00)``
    with ``s_res`` the residual sd on ``n - k - 1`` degrees of freedom (the
    usual OLS standard error of the intercept; Owen 2013, section 8.9).
    """
    _check_dim(dim)
    z = rng.standard_normal((n, dim))
    y = _evaluate(f, z)
    g = np.asarray(controls(z), dtype=np.float64)
    if g.ndim != 2 or g.shape[0] != n:
        raise ValueError(f"controls must return shape ({n}, k); got {g.shape}")
    k = g.shape[1]
    if n <= k + 2:
        raise ValueError(f"need n > k + 2 = {k + 2} draws for {k} controls")
    x = np.concatenate([np.ones((n, 1)), g], axis=1)
    q, r = np.linalg.qr(x)
    coef = np.linalg.solve(r, q.T @ y)
    resid = y - x @ coef
    dof = n - k - 1
    s2 = float(resid @ resid) / dof
    rinv = np.linalg.solve(r, np.eye(k + 1))
    var0 = float(rinv[0] @ rinv[0]) * s2  # [(X^T X)^{-1}]_00 = ||row 0 of R^{-1}||^2
    return Estimate(float(coef[0]), math.sqrt(var0), n, Method.CONTROL_VARIATE,
                    dof=float(dof), skewness=sample_skewness(resid))


def rqmc(
    f: Integrand,
    dim: int,
    m: int,
    rng: np.random.Generator,
    n_scrambles: int = 16,
) -> Estimate:
    """Randomised QMC estimate with ``n_scrambles`` scrambled Sobol' nets.

    Each scramble uses the first ``2**m`` points (a full (t, m, d)-net, which is
    what Owen's variance results assume), mapped to N(0, I) by ``ndtri``.  The
    scrambles draw their seeds from ``rng``.
    """
    _check_dim(dim)
    if n_scrambles < 16:
        raise ValueError("docs/verification.md S3 asks for >= 16 independent scrambles")
    if not 1 <= m <= 30:
        raise ValueError(f"m must be in 1..30; got {m}")
    seeds = rng.integers(0, 2**63 - 1, size=n_scrambles)
    means = np.empty(n_scrambles)
    tiny = np.finfo(np.float64).tiny
    for r, seed in enumerate(seeds):
        engine = qmc.Sobol(d=dim, scramble=True, rng=np.random.default_rng(int(seed)))
        u = engine.random_base2(m)
        # Scrambled points are a.s. interior; the clip only guards ndtri(0) = -inf.
        z = special.ndtri(np.clip(u, tiny, 1.0 - np.finfo(np.float64).epsneg))
        means[r] = _evaluate(f, z).mean()
    return Estimate(
        float(means.mean()),
        float(means.std(ddof=1) / math.sqrt(n_scrambles)),
        n_scrambles * 2**m,
        Method.RQMC,
        dof=float(n_scrambles - 1),
    )


def _gh_rule(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilists' Gauss--Hermite nodes and weights normalised to sum to 1."""
    x, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    return x, w / math.sqrt(2.0 * math.pi)


def _gh_value(f: Integrand, dim: int, n_nodes: int) -> float:
    x, w = _gh_rule(n_nodes)
    grids = np.meshgrid(*([x] * dim), indexing="ij")
    z = np.stack([g.ravel() for g in grids], axis=1)
    wgrid = np.ones(1)
    for _ in range(dim):
        wgrid = np.multiply.outer(wgrid, w).ravel()
    return float(_evaluate(f, z) @ wgrid)


def gauss_hermite(f: Integrand, dim: int, n_nodes: int, *, error_check: bool = True) -> Estimate:
    """Tensor-product Gauss--Hermite quadrature of ``E[f(Z)]``, ``Z ~ N(0, I_dim)``.

    Exact (to rounding) when ``f`` is a polynomial of degree <= ``2 n_nodes - 1``
    in each coordinate.  With ``error_check`` the rule is repeated with
    ``2 n_nodes`` nodes and ``|Q_n - Q_{2n}|`` is reported as ``bias_bound``;
    the returned value is the finer one.
    """
    _check_dim(dim)
    if n_nodes < 1:
        raise ValueError("n_nodes must be >= 1")
    fine = 2 * n_nodes if error_check else n_nodes
    if fine**dim > MAX_QUADRATURE_NODES:
        raise ValueError(
            f"{fine}**{dim} nodes exceed MAX_QUADRATURE_NODES; use rqmc for this dimension"
        )
    value = _gh_value(f, dim, fine)
    bias = abs(value - _gh_value(f, dim, n_nodes)) if error_check else 0.0
    return Estimate(value, 0.0, fine**dim, Method.GAUSS_HERMITE, bias_bound=bias)
