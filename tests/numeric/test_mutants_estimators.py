"""Fast, deterministic checks of the estimators' arithmetic, for mutation testing.

The calibration tests of test_numeric_estimators.py (thousands of replications) catch a
wrong standard error statistically, in seconds to minutes; these pin the same arithmetic
exactly on a few draws, so that each planted error (named in each docstring) is caught in
milliseconds. Each recomputes what the estimator's docstring specifies, independently.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special
from scipy.stats import qmc

from ddpm_theory.numeric import estimators as est
from ddpm_theory.numeric.estimators import Estimate, Method


def test_z_score_with_a_standard_error() -> None:
    """Planted: ``diff / stderr`` -> ``diff * stderr``, or ``value + exact``."""
    e = Estimate(1.5, 0.25, 10, Method.MONTE_CARLO)
    assert e.z_score(1.0) == 2.0
    assert e.z_score(2.0) == -2.0


def test_z_score_of_a_deterministic_estimate() -> None:
    """Planted: the stderr == 0 branch flipped, its 0.0 changed, or the sign of the
    infinity lost (``copysign`` with a wrong argument)."""
    e = Estimate(2.0, 0.0, 4, Method.GAUSS_HERMITE)
    assert e.z_score(2.0) == 0.0
    assert e.z_score(1.0) == math.inf
    assert e.z_score(3.0) == -math.inf
    assert Estimate(0.0, 0.0, 4, Method.GAUSS_HERMITE).z_score(1.0) == -math.inf


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"stderr": -1e-300}, "stderr and bias_bound must be >= 0"),
        ({"stderr": math.nan}, "stderr and bias_bound must be >= 0"),
        ({"bias_bound": -1e-300}, "stderr and bias_bound must be >= 0"),
        ({"n": 0}, "n must be >= 1 and dof > 0"),
        ({"dof": 0.0}, "n must be >= 1 and dof > 0"),
        ({"dof": math.nan}, "n must be >= 1 and dof > 0"),
    ],
)
def test_estimate_rejects_impossible_fields(kwargs: dict[str, float], match: str) -> None:
    """Planted: a bound of __post_init__ moved (>= -> >, 1 -> 2) or a check dropped."""
    fields = {"value": 0.0, "stderr": 0.0, "n": 1, "method": Method.MONTE_CARLO}
    with pytest.raises(ValueError, match=match):
        Estimate(**(fields | kwargs))


def test_estimate_accepts_the_boundary_fields() -> None:
    """Planted: ``stderr >= 0`` -> ``> 0``, ``n < 1`` -> ``n <= 1``, ``dof > 0`` -> ``> 1``."""
    e = Estimate(0.0, 0.0, 1, Method.MONTE_CARLO, dof=0.5, bias_bound=0.0)
    assert (e.n, e.dof, e.stderr, e.bias_bound) == (1, 0.5, 0.0, 0.0)


def _square(z: np.ndarray) -> np.ndarray:
    return z[:, 0] ** 2 + 0.5 * z[:, -1]


def test_monte_carlo_is_the_sample_mean_and_its_standard_error() -> None:
    """Planted: ``ddof=1`` -> ``ddof=2``, ``sqrt(n)`` -> ``sqrt(n + 1)``, the draws' shape."""
    got = est.monte_carlo(_square, 2, 7, np.random.default_rng(5))
    z = np.random.default_rng(5).standard_normal((7, 2))
    y = _square(z)
    sd = math.sqrt(sum((v - y.mean()) ** 2 for v in y) / 6)
    assert got.value == pytest.approx(float(y.mean()), rel=1e-15)
    assert got.stderr == pytest.approx(sd / math.sqrt(7), rel=1e-13)
    assert (got.n, got.method, got.dof, got.bias_bound) == (7, Method.MONTE_CARLO, math.inf, 0)


def test_monte_carlo_refuses_too_few_draws_and_bad_dimensions() -> None:
    """Planted: ``n < 3`` -> ``n < 4`` / ``n <= 3`` / ``n < 2`` (a sample skewness needs
    three draws); the dimension check loosened."""
    assert est.monte_carlo(_square, 1, 3, np.random.default_rng(0)).n == 3
    with pytest.raises(ValueError, match="^need n >= 3 for a standard error and a skewness$"):
        est.monte_carlo(_square, 1, 2, np.random.default_rng(0))
    for dim in (0, 1.5, -1):
        with pytest.raises(ValueError, match=f"dim must be a positive integer; got {dim!r}"):
            est.monte_carlo(_square, dim, 10, np.random.default_rng(0))  # type: ignore[arg-type]


def test_integrand_shape_and_finiteness_are_checked() -> None:
    """Planted: the shape check of ``_evaluate`` or its non-finite check dropped/inverted."""
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"integrand must return shape \(4,\); got \(4, 1\)"):
        est.monte_carlo(lambda z: z, 1, 4, rng)
    with pytest.raises(FloatingPointError, match="^integrand returned non-finite values$"):
        est.monte_carlo(lambda z: np.where(z[:, 0] > 0.0, np.inf, 1.0), 1, 4, rng)


def test_quadratic_controls_columns() -> None:
    """Planted: a wrong centring (``z*z - 1`` -> ``z*z + 1`` / ``- 2``), the cross products
    dropped or taken with ``k=0`` / ``k=2``, or the cross switch inverted."""
    z = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
    want = np.array([[1.0, 2.0, 3.0, 0.0, 3.0, 8.0, 2.0, 3.0, 6.0],
                     [-1.0, 0.5, 2.0, 0.0, -0.75, 3.0, -0.5, -2.0, 1.0]])  # fmt: skip
    np.testing.assert_array_equal(est.quadratic_controls(z), want)
    np.testing.assert_array_equal(est.quadratic_controls(z, cross=False), want[:, :6])
    np.testing.assert_array_equal(est.quadratic_controls(z[:, :1]), want[:, [0, 3]])
    two = est.quadratic_controls(z[:, :2])
    np.testing.assert_array_equal(two, np.column_stack([z[:, :2], z[:, :2] ** 2 - 1.0,
                                                        z[:, 0] * z[:, 1]]))  # fmt: skip
    with pytest.raises(ValueError, match=r"z must have shape \(n, d\); got \(3,\)"):
        est.quadratic_controls(np.zeros(3))


def test_control_variate_is_the_ols_intercept_and_its_standard_error() -> None:
    """Planted: a wrong residual dof (``n - k - 1`` -> ``n - k``), the intercept column or
    the ``[(X^T X)^{-1}]_00`` factor changed, the square root of the variance dropped."""
    def f(z: np.ndarray) -> np.ndarray:
        return np.exp(0.3 * z[:, 0]) + z[:, 1] ** 3

    n = 12
    got = est.control_variate(f, est.quadratic_controls, 2, n, np.random.default_rng(3))
    z = np.random.default_rng(3).standard_normal((n, 2))
    x = np.column_stack([np.ones(n), est.quadratic_controls(z)])
    coef, *_ = np.linalg.lstsq(x, f(z), rcond=None)
    resid = f(z) - x @ coef
    dof = n - x.shape[1]
    var0 = float(resid @ resid) / dof * np.linalg.inv(x.T @ x)[0, 0]
    assert got.value == pytest.approx(coef[0], rel=1e-12)
    assert got.stderr == pytest.approx(math.sqrt(var0), rel=1e-9)
    assert (got.dof, got.n, got.method) == (float(dof), n, Method.CONTROL_VARIATE)


def test_control_variate_refuses_bad_controls() -> None:
    """Planted: the controls' shape check or the ``n > k + 2`` bound moved or dropped; the
    controls' float64 conversion dropped (a long-double design matrix has no QR)."""
    rng = np.random.default_rng(0)

    def f(z: np.ndarray) -> np.ndarray:
        return z[:, 0]

    assert est.control_variate(f, est.quadratic_controls, 1, 5, rng).dof == 2.0
    with pytest.raises(ValueError, match=r"need n > k \+ 2 = 4 draws for 2 controls"):
        est.control_variate(f, est.quadratic_controls, 1, 4, rng)
    long_controls = est.control_variate(
        f, lambda z: est.quadratic_controls(z).astype(np.longdouble), 1, 6, rng)
    assert long_controls.dof == 3.0  # converted to float64, which LAPACK's QR needs
    with pytest.raises(ValueError, match=r"controls must return shape \(6, k\); got \(6,\)"):
        est.control_variate(f, lambda z: z[:, 0], 1, 6, rng)
    with pytest.raises(ValueError, match=r"controls must return shape \(6, k\); got \(5, 1\)"):
        est.control_variate(f, lambda z: z[:5], 1, 6, rng)


def test_rqmc_is_the_mean_of_scrambled_sobol_means() -> None:
    """Planted: the seeds' range or count, the net size ``2**m``, the ``ndtri`` map, the
    replicate SE (``ddof=1``, ``sqrt(R)``) or its dof ``R - 1`` changed."""
    got = est.rqmc(_square, 2, 3, np.random.default_rng(9), n_scrambles=17)
    seeds = np.random.default_rng(9).integers(0, 2**63 - 1, size=17)
    means = []
    for seed in seeds:
        u = qmc.Sobol(d=2, scramble=True, rng=np.random.default_rng(int(seed))).random_base2(3)
        means.append(_square(special.ndtri(u)).mean())
    sd = math.sqrt(sum((m - np.mean(means)) ** 2 for m in means) / 16)
    assert got.value == pytest.approx(float(np.mean(means)), rel=1e-14)
    assert got.stderr == pytest.approx(sd / math.sqrt(17), rel=1e-12)
    assert (got.n, got.dof, got.method) == (17 * 8, 16.0, Method.RQMC)


def test_rqmc_bounds_on_scrambles_and_net_size() -> None:
    """Planted: ``n_scrambles < 16`` -> ``<= 16`` / ``< 17``; the ``1 <= m <= 30`` bounds."""
    rng = np.random.default_rng(0)
    assert est.rqmc(_square, 1, 1, rng).n == 32
    message = "^docs/verification.md S3 asks for >= 16 independent scrambles$"
    with pytest.raises(ValueError, match=message):
        est.rqmc(_square, 1, 2, rng, n_scrambles=15)
    for m in (0, 31):
        with pytest.raises(ValueError, match=f"m must be in 1..30; got {m}"):
            est.rqmc(_square, 1, m, rng)


def test_gauss_hermite_exact_values_and_error_estimate() -> None:
    """Planted: the weights' normalisation (``sqrt(2 pi)``), the tensor grid's order, the
    doubled rule (``2 * n_nodes``), ``bias_bound = |Q_n - Q_2n|`` or the node count."""
    # 2 nodes (+-1, weights 1/2): E[z^6] -> 1; 4 nodes are exact: 15
    e = est.gauss_hermite(lambda z: z[:, 0] ** 6, 1, 2)
    assert (e.value, e.bias_bound, e.n, e.stderr) == (pytest.approx(15.0, rel=1e-13),
                                                      pytest.approx(14.0, rel=1e-13), 4, 0.0)
    plain = est.gauss_hermite(lambda z: z[:, 0] ** 6, 1, 2, error_check=False)
    assert (plain.value, plain.bias_bound, plain.n) == (pytest.approx(1.0, rel=1e-13), 0.0, 2)
    mixed = est.gauss_hermite(lambda z: z[:, 0] ** 2 * (z[:, 1] + 2.0) ** 2 + z[:, 2], 3, 2)
    assert mixed.value == pytest.approx(5.0, rel=1e-13)
    assert mixed.n == 4**3 and mixed.method is Method.GAUSS_HERMITE


def test_gauss_hermite_node_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Planted: ``n_nodes < 1`` -> ``< 2``; the grid cap ``>`` -> ``>=``; the cap applied to
    the coarse rule instead of the fine one."""
    assert est.gauss_hermite(lambda z: z[:, 0], 1, 1).n == 2
    with pytest.raises(ValueError, match="^n_nodes must be >= 1$"):
        est.gauss_hermite(lambda z: z[:, 0], 1, 0)
    monkeypatch.setattr(est, "MAX_QUADRATURE_NODES", 64)  # read at each call
    assert est.gauss_hermite(lambda z: z[:, 0], 2, 8, error_check=False).n == 64
    assert est.gauss_hermite(lambda z: z[:, 0], 2, 4).n == 64
    with pytest.raises(ValueError, match=r"16\*\*2 nodes exceed MAX_QUADRATURE_NODES; use rqmc"):
        est.gauss_hermite(lambda z: z[:, 0], 2, 8)


def test_reduced_precision_integrands_and_controls_are_averaged_in_float64() -> None:
    """Planted: ``np.asarray(f(z), dtype=np.float64)`` in _evaluate, or the float64
    conversion of quadratic_controls' ``z``, dropped: float32 values would then be summed
    and squared in float32."""
    def f32(z: np.ndarray) -> np.ndarray:
        return (z[:, 0] ** 2 + 0.1).astype(np.float32)

    def f64(z: np.ndarray) -> np.ndarray:
        return f32(z).astype(np.float64)

    got = est.monte_carlo(f32, 1, 1000, np.random.default_rng(2))
    want = est.monte_carlo(f64, 1, 1000, np.random.default_rng(2))
    assert (got.value, got.stderr) == (want.value, want.stderr)
    assert est.gauss_hermite(f32, 1, 6).value == est.gauss_hermite(f64, 1, 6).value
    z = np.random.default_rng(4).standard_normal((5, 3)).astype(np.float32)
    cols = est.quadratic_controls(z)
    assert cols.dtype == np.float64
    assert np.array_equal(cols, est.quadratic_controls(z.astype(np.float64)))


def test_rqmc_accepts_the_largest_net(monkeypatch: pytest.MonkeyPatch) -> None:
    """Planted: ``m <= 30`` -> ``m < 30``. A net of 2**30 points is too large to draw in a
    test, so the Sobol' engine is replaced by one that records the size asked for."""
    asked = []

    class Engine:
        def __init__(self, d: int, scramble: bool = True, rng: object = None) -> None:
            self.d = d

        def random_base2(self, m: int) -> np.ndarray:
            asked.append(m)
            return np.full((4, self.d), 0.5)

    monkeypatch.setattr(est.qmc, "Sobol", Engine)
    assert est.rqmc(lambda z: z[:, 0], 1, 30, np.random.default_rng(0)).n == 16 * 2**30
    assert asked == [30] * 16
