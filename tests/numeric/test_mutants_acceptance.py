"""The asserting wrappers of ddpm_theory.numeric.acceptance pass every argument on and
report failures by name.

The acceptance rules themselves are calibrated in test_numeric_acceptance.py; these pin
the wrappers (assert_power, assert_agrees, assert_gof) that mutation testing found
unpinned: an argument not passed on (the default used instead), the ``>=`` of the power
statement, and the labels of the failure messages.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ddpm_theory.numeric import acceptance as acc
from ddpm_theory.numeric.estimators import Estimate, Method


def test_assert_power_passes_every_argument_on() -> None:
    """Planted: ``n_examples``, ``dof`` or ``true_stderr`` dropped or replaced by None in the
    calls of assert_power (the defaults would be used instead)."""
    kw = {"budget": 1e-4, "n_examples": 7}
    thr = acc.z_threshold(1e-4, 7, dof=9.0)
    want = acc.rejection_probability(0.9, 0.1, thr, dof=9.0)
    assert acc.assert_power(0.9, 0.1, beta=0.4, dof=9.0, **kw) == want
    thr = acc.z_threshold(1e-4, 7)
    want = acc.rejection_probability(0.7, 0.1, thr, true_stderr=0.3)
    assert want != acc.rejection_probability(0.7, 0.1, thr)
    assert acc.assert_power(0.7, 0.1, beta=0.4, true_stderr=0.3, **kw) == want


def test_assert_power_accepts_power_exactly_one_minus_beta() -> None:
    """Planted: ``power >= 1 - beta`` -> ``power > 1 - beta``."""
    for d in np.linspace(0.55, 0.65, 101):
        power = acc.assert_power(float(d), 0.1, beta=0.45, n_examples=3)
        beta = 1.0 - power
        if 1.0 - beta == power and 0.0 < beta < 0.5:
            assert acc.assert_power(float(d), 0.1, beta=beta, n_examples=3) == power
            return
    pytest.fail("no discrepancy gave a power representable as 1 - beta")  # pragma: no cover


def test_assert_power_message() -> None:
    """Planted: the label of the message lost or garbled (``what + ': '``)."""
    with pytest.raises(acc.InsufficientPower, match=r"^L_0: power \S+ < 1 - 0.001 against a "
                       r"discrepancy 0.1 \(SE 0.1, threshold \S+\)$"):  # fmt: skip
        acc.assert_power(0.1, 0.1, n_examples=1, what="L_0")
    with pytest.raises(acc.InsufficientPower, match=r"^power "):
        acc.assert_power(0.1, 0.1, n_examples=1)


def _estimate(value: float, stderr: float = 0.1) -> Estimate:
    return Estimate(value, stderr, 100, Method.MONTE_CARLO)


def test_assert_agrees_passes_budget_and_n_examples_on() -> None:
    """Planted: ``budget`` or ``n_examples`` not passed on to check_agreement."""
    rep = acc.assert_agrees(_estimate(1.0), 1.0, must_detect=None, budget=1e-3, n_examples=4)
    assert rep.alpha == 1e-3 / 4
    rep = acc.assert_agrees(_estimate(1.0), 1.0, must_detect=1.0, beta=0.25, n_examples=4)
    assert rep.detectable == acc.check_agreement(_estimate(1.0), 1.0, n_examples=4,
                                                 beta=0.25).detectable  # fmt: skip


def test_assert_agrees_messages() -> None:
    """Planted: a message replaced by None, its label lost, its text garbled."""
    with pytest.raises(acc.InsufficientPower, match=r"^KL: check too weak; monte_carlo: value="):
        acc.assert_agrees(_estimate(1.0), 1.0, must_detect=1e-3, n_examples=1, what="KL")
    with pytest.raises(acc.InsufficientPower, match=r"^check too weak; monte_carlo: "):
        acc.assert_agrees(_estimate(1.0), 1.0, must_detect=1e-3, n_examples=1)
    with pytest.raises(acc.StatisticalDisagreement, match=r"^KL: monte_carlo: value=3 exact=1 "):
        acc.assert_agrees(_estimate(3.0), 1.0, must_detect=None, n_examples=1, what="KL")
    with pytest.raises(acc.StatisticalDisagreement, match=r"^monte_carlo: value=3 exact=1 "):
        acc.assert_agrees(_estimate(3.0), 1.0, must_detect=None, n_examples=1)


def test_assert_gof_passes_on_and_reports() -> None:
    """Planted: assert_gof's call of gof_test with an argument dropped or None, its
    pass/fail test inverted, or its message garbled."""
    x = stats.norm.ppf((np.arange(50) + 0.5) / 50)  # a perfect normal sample
    rep = acc.assert_gof(x, stats.norm.cdf, budget=1e-3, n_examples=5)
    assert (rep.alpha, rep.n, rep.test) == (1e-3 / 5, 50, acc.GofTest.KOLMOGOROV_SMIRNOV)
    assert rep.statistic == stats.kstest(x, stats.norm.cdf).statistic
    with pytest.raises(acc.StatisticalDisagreement,
                       match=r"^shifted: ks statistic \S+, p = \S+ < alpha = 0.0002 \(n = 50\)$"):
        acc.assert_gof(x + 1.0, stats.norm.cdf, budget=1e-3, n_examples=5, what="shifted")
    with pytest.raises(acc.StatisticalDisagreement, match=r"^ks statistic "):
        acc.assert_gof(x + 1.0, stats.norm.cdf, n_examples=1)
    assert math.isclose(acc.assert_gof(x, stats.norm.cdf, n_examples=1).alpha,
                        acc.DEFAULT_BUDGET)  # fmt: skip


def test_ks_power_lower_bound_is_the_binomial_tail_mass() -> None:
    """Planted: the lower tail's ``ceil(n (F - d*)) - 1`` moved by one (``+ 1``, ``- 2``),
    or the upper tail's ``floor`` bound moved: the bound must be exactly
    P(|K/n - F(x)| > d*) for K ~ Binomial(n, G(x)), summed term by term."""
    n = 20
    d_star = acc.ks_critical_value(n, acc.per_run_alpha(0.5, 1))
    for shift, x in ((1.0, 0.0), (-1.0, 0.0), (0.7, -0.3)):
        f = float(stats.norm.cdf(x))
        g = float(stats.norm.cdf(x - shift))
        want = sum(stats.binom.pmf(k, n, g) for k in range(n + 1) if abs(k / n - f) > d_star)
        got = acc.ks_power_lower_bound(n, lambda t, s=shift: stats.norm.cdf(t - s),
                                       stats.norm.cdf, np.array([x]), budget=0.5, n_examples=1)
        assert got == pytest.approx(want, rel=1e-12), (shift, x)


def test_gof_test_sample_size_and_level() -> None:
    """Planted: ``x.size < 8`` -> ``<= 8`` / ``< 9``, its message garbled, or
    ``n_examples`` not passed on to per_run_alpha."""
    x = stats.norm.ppf((np.arange(8) + 0.5) / 8)
    rep = acc.gof_test(x.reshape(2, 4), stats.norm.cdf, budget=1e-2, n_examples=4)
    assert (rep.n, rep.alpha) == (8, 1e-2 / 4)
    with pytest.raises(ValueError, match="^need at least 8 samples for a goodness-of-fit test$"):
        acc.gof_test(x[:7], stats.norm.cdf, n_examples=1)


@pytest.mark.parametrize("dof", [math.inf, 9.0])
def test_check_agreement_arithmetic(dof: float) -> None:
    """Planted: the two-sided ``alpha / 2`` (-> ``* 2``, ``/ 3``), ``+ bias`` (-> ``-``),
    ``2 * bias`` in the detectable discrepancy (-> ``3 *``, ``-=``), ``beta`` or ``dof``
    not passed on to detectable_discrepancy."""
    e = Estimate(1.0, 0.1, 50, Method.RQMC, dof=dof, bias_bound=0.01)
    rep = acc.check_agreement(e, 1.0, budget=1e-3, n_examples=5, beta=0.2)
    ref = stats.norm if math.isinf(dof) else stats.t(dof)
    thr = float(ref.isf(1e-3 / 5 / 2))
    assert rep.threshold == pytest.approx(thr, rel=1e-12)
    assert rep.tolerance == pytest.approx(thr * 0.1 + 0.01, rel=1e-12)
    assert rep.detectable == pytest.approx((thr + float(ref.isf(0.2))) * 0.1 + 0.02, rel=1e-12)


def test_check_agreement_of_a_deterministic_estimate() -> None:
    """Planted: ``stderr > 0`` -> ``>= 0`` (the SE branch taken at SE = 0), the rounding
    floor ``64 eps (1 + |exact|)`` changed, ``detect = 2 tol`` -> ``3 tol``."""
    e = Estimate(2.0, 0.0, 8, Method.GAUSS_HERMITE, bias_bound=1e-9)
    rep = acc.check_agreement(e, -3.0, n_examples=1)
    floor = 64 * np.finfo(np.float64).eps * 4.0
    assert rep.tolerance == 1e-9 + floor
    assert rep.detectable == 2.0 * (1e-9 + floor)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: acc.per_run_alpha(1.0, 1), r"^budget must lie in \(0, 1\); got 1.0$"),
        (lambda: acc.per_run_alpha(0.0, 1), r"^budget must lie in \(0, 1\); got 0.0$"),
        (lambda: acc.per_run_alpha(1.5, 1), r"^budget must lie in \(0, 1\); got 1.5$"),
        (lambda: acc.per_run_alpha(0.1, 0), r"^n_examples must be >= 1; got 0$"),
        (lambda: acc.detectable_discrepancy(1.0, 3.0, beta=0.5),
         r"^beta must lie in \(0, 0.5\); got 0.5$"),
        (lambda: acc.detectable_discrepancy(1.0, 3.0, beta=0.0),
         r"^beta must lie in \(0, 0.5\); got 0.0$"),
        (lambda: acc.detectable_discrepancy(1.0, 3.0, beta=0.7),
         r"^beta must lie in \(0, 0.5\); got 0.7$"),
        (lambda: acc.rejection_probability(1.0, 0.0, 3.0), r"^stderr must be > 0; got 0.0$"),
        (lambda: acc.rejection_probability(1.0, 0.1, 3.0, true_stderr=0.0),
         r"^true_stderr must be > 0; got 0.0$"),
        (lambda: acc.rejection_probability(1.0, 0.1, 3.0, true_stderr=0.1, dof=5.0),
         r"^true_stderr applies to the normal reference only \(dof = inf\)$"),
    ],
)  # fmt: skip
def test_rule_parameters_are_checked_and_named(call, match) -> None:
    """Planted: an open bound made closed (``<`` -> ``<=``, ``>`` -> ``>=``) or moved
    (``< 1`` -> ``< 2``, ``< 0.5`` -> ``< 1.5``), or a message replaced or garbled."""
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("dtype", [np.float32, np.longdouble])
def test_goodness_of_fit_in_float64(dtype: type) -> None:
    """Planted: a dropped float64 conversion of the samples (gof_test) or of the grid and
    the two CDFs' values (ks_power_lower_bound)."""
    x = stats.norm.ppf((np.arange(40) + 0.5) / 40).astype(dtype)
    got = acc.gof_test(x, stats.norm.cdf, n_examples=1)
    want = acc.gof_test(x.astype(np.float64), stats.norm.cdf, n_examples=1)
    assert (got.statistic, got.pvalue) == (want.statistic, want.pvalue)
    grid = np.array([-0.5, 0.0, 0.5], dtype=dtype)

    def shifted(t: np.ndarray) -> np.ndarray:
        return np.asarray(stats.norm.cdf(np.asarray(t, np.float64) - 0.4)).astype(dtype)

    def claimed(t: np.ndarray) -> np.ndarray:
        return np.asarray(stats.norm.cdf(np.asarray(t, np.float64))).astype(dtype)

    got_power = acc.ks_power_lower_bound(30, shifted, claimed, grid, n_examples=1)
    assert isinstance(got_power, float)
    want_power = acc.ks_power_lower_bound(
        30, lambda t: shifted(t).astype(np.float64), lambda t: claimed(t).astype(np.float64),
        grid.astype(np.float64), n_examples=1)
    assert got_power == want_power
