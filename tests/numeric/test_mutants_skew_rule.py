"""The skewness-corrected acceptance rule and the sample-mean estimator: the report's sides,
the bias bound on both sides, the power taken on the longer side, and float64 summands.
Written against the survivors of mutation testing (mutation/run.py); each docstring names
the planted error it catches."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ddpm_theory.numeric import monte_carlo
from ddpm_theory.numeric.acceptance import AcceptanceReport, check_agreement
from ddpm_theory.numeric.estimators import Estimate, Method, sample_mean, sample_skewness
from ddpm_theory.numeric.skewness import skew_corrected_bounds


def _odd(values: np.ndarray) -> np.ndarray:
    """float32 values whose last mantissa bit is 1: their float32 sums and means round."""
    x = np.asarray(values, dtype=np.float32)
    return (x.view(np.uint32) | np.uint32(1)).view(np.float32)


def test_a_report_given_one_tolerance_is_symmetric() -> None:
    """Planted: ``object.__setattr__(self, side, self.tolerance)`` with an argument dropped
    or replaced by None: a report built with only ``tolerance`` would have NaN sides and
    accept nothing (every comparison with NaN is false)."""
    e = Estimate(1.0, 0.1, 100, Method.MONTE_CARLO)
    rep = AcceptanceReport(e, 1.2, 1e-6, 5.0, 0.5, 1.0, None)
    assert (rep.tolerance_below, rep.tolerance_above) == (0.5, 0.5)
    assert rep.agrees
    assert not AcceptanceReport(e, 1.6, 1e-6, 5.0, 0.5, 1.0, None).agrees


def test_the_bias_bound_widens_both_sides() -> None:
    """Planted: ``+ e.bias_bound`` -> ``- e.bias_bound`` on either side of the interval."""
    e = Estimate(0.0, 0.1, 1000, Method.GAUSS_HERMITE, bias_bound=0.05)
    rep = check_agreement(e, 0.0)
    thr = rep.threshold
    assert rep.tolerance_below == pytest.approx(thr * 0.1 + 0.05, rel=1e-15)
    assert rep.tolerance_above == pytest.approx(thr * 0.1 + 0.05, rel=1e-15)


def test_power_is_judged_on_the_longer_side_of_a_skewed_interval() -> None:
    """Planted: ``max(-lo, hi)`` -> ``max(+lo, hi)`` (the longer, heavy side ignored), and
    ``skewness == 0.0`` -> ``== 1.0`` (a skewness of exactly 1 judged by the normal rule)."""
    e = Estimate(0.0, 0.1, 200, Method.MONTE_CARLO, skewness=1.0)
    rep = check_agreement(e, 0.0, must_detect=10.0)
    lo, hi = skew_corrected_bounds(rep.threshold, 1.0, 200)
    assert -lo > hi == rep.threshold  # right-skewed: the lower side is the longer one
    assert rep.tolerance_below == pytest.approx(-lo * 0.1, rel=1e-15)
    beta_quantile = stats.norm.isf(1e-3)  # DEFAULT_BETA
    assert rep.detectable == pytest.approx((-lo + beta_quantile) * 0.1, rel=1e-12)


def test_sample_mean_and_skewness_compute_in_float64() -> None:
    """Planted: the float64 conversion of the summands dropped (``dtype=None``) in
    sample_mean, sample_skewness and the Monte-Carlo integrand: float32 summands were then
    averaged in float32 (a relative error ~1e-7 instead of ~1e-16)."""
    rng = np.random.default_rng(3)
    y32 = _odd(rng.standard_normal(4001) ** 2 + 0.1)
    y64 = y32.astype(np.float64)
    got, want = sample_mean(y32), sample_mean(y64)
    assert got.value == pytest.approx(want.value, rel=1e-15)
    assert got.stderr == pytest.approx(want.stderr, rel=1e-14)
    assert sample_skewness(y32) == pytest.approx(sample_skewness(y64), rel=1e-13)
    mc32 = monte_carlo(lambda z: _odd(z[:, 0] ** 2 + 0.1), 1, 4001, np.random.default_rng(1))
    mc64 = monte_carlo(lambda z: _odd(z[:, 0] ** 2 + 0.1).astype(np.float64), 1, 4001,
                       np.random.default_rng(1))  # fmt: skip
    assert mc32.value == pytest.approx(mc64.value, rel=1e-15)


def test_constant_summands_have_zero_skewness_and_nonfinite_ones_are_refused() -> None:
    """Planted: the skewness of constant summands 0 -> 1, and the non-finite refusal's
    message dropped or re-cased."""
    assert sample_skewness(np.full(7, 2.5)) == 0.0
    with pytest.raises(FloatingPointError, match="summands must be finite"):
        sample_mean(np.array([1.0, math.inf, 2.0]))


def test_ks_power_bound_evaluates_the_cdfs_at_float64_points() -> None:
    """Planted: the float64 conversion of the grid dropped: a float32 grid was passed on to
    the CDFs, which (as scipy.special.ndtr does) may then compute in float32."""
    from scipy import special

    from ddpm_theory.numeric.acceptance import ks_power_lower_bound

    seen: list[np.dtype] = []

    def cdf(x: np.ndarray) -> np.ndarray:
        seen.append(x.dtype)
        return special.ndtr(x)

    grid = np.linspace(-1.0, 1.0, 9, dtype=np.float32)
    got = ks_power_lower_bound(500, lambda x: special.ndtr(x - 0.3), cdf, grid)
    want = ks_power_lower_bound(500, lambda x: special.ndtr(x - 0.3), special.ndtr,
                                grid.astype(np.float64))  # fmt: skip
    assert seen == [np.float64] and got == pytest.approx(want, rel=1e-15)
