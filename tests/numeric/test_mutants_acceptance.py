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
