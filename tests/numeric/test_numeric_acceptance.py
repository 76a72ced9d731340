"""Acceptance rules: threshold arithmetic, false-alarm rate on correct code, power
against planted discrepancies (docs/verification.md S3, S4)."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from numeric_helpers import replications
from scipy import stats

from ddpm_theory.numeric import (
    Estimate,
    GofTest,
    InsufficientPower,
    Method,
    StatisticalDisagreement,
    active_examples,
    assert_agrees,
    assert_gof,
    assert_power,
    check_agreement,
    detectable_discrepancy,
    gauss_hermite,
    gof_test,
    ks_critical_value,
    ks_power_lower_bound,
    monte_carlo,
    rejection_probability,
    rqmc,
    z_threshold,
)
from ddpm_theory.testing.strategies import seeds

# ---------------------------------------------------------------------------
# Threshold arithmetic, against an independent 50-digit computation


def _z_mpmath(alpha: float) -> float:
    """Two-sided normal quantile: z = sqrt(2) erfinv(1 - alpha), via mpmath."""
    with mpmath.workdps(50):
        return float(mpmath.sqrt(2) * mpmath.erfinv(1 - mpmath.mpf(alpha)))


def test_threshold_values_stated_in_verification_md() -> None:
    # 1e-6 over 100 examples -> alpha = 1e-8 per run -> z = 5.7307 ("z ~ 5.7").
    assert z_threshold(1e-6, 100) == pytest.approx(_z_mpmath(1e-8), rel=1e-12)
    assert z_threshold(1e-6, 100) == pytest.approx(5.7307, abs=1e-4)
    assert z_threshold(1e-6, 25) == pytest.approx(5.4909, abs=1e-4)  # the ci profile
    assert z_threshold(1e-6, 400) == pytest.approx(_z_mpmath(2.5e-9), rel=1e-12)


@given(budget=st.floats(1e-12, 0.5), n=st.integers(1, 10_000))
def test_threshold_matches_mpmath(budget: float, n: int) -> None:
    # rel 1e-9: scipy's ndtri is accurate to a few ulp; the quantile's condition
    # number |alpha phi'/phi| / z is O(1/z^2), far below 1e3.
    assert z_threshold(budget, n) == pytest.approx(_z_mpmath(budget / n), rel=1e-9)
    one = z_threshold(budget, n, two_sided=False)
    assert one == pytest.approx(float(stats.norm.isf(budget / n)), rel=1e-12)


def test_threshold_uses_student_t_for_finite_dof() -> None:
    z = z_threshold(1e-6, 25)
    t15 = z_threshold(1e-6, 25, dof=15)
    assert t15 == pytest.approx(float(stats.t.isf(2e-8, 15)), rel=1e-12)
    assert t15 > 1.8 * z  # 16 scrambles cost a factor ~2 in threshold at this level
    assert z < z_threshold(1e-6, 25, dof=1e6) < z * (1 + 1e-4)


def test_active_examples_follow_the_profile() -> None:
    assert active_examples() == settings().max_examples
    assert active_examples(3) == settings().max_examples + 3


@given(budget=st.floats(1e-9, 1e-2), n=st.integers(1, 1000), beta=st.floats(1e-6, 0.2))
@example(budget=1e-6, n=25, beta=1e-3)
def test_power_formula_gives_stated_miss_probability(budget: float, n: int, beta: float) -> None:
    """For est ~ N(exact + delta, SE^2) with delta = detectable, P(accept) <= beta."""
    thr = z_threshold(budget, n)
    delta = detectable_discrepancy(1.0, thr, beta=beta)
    miss = stats.norm.cdf(thr - delta) - stats.norm.cdf(-thr - delta)
    # Equality up to the far tail Phi(-2 thr - z_beta) < 1e-9 beta and rounding.
    assert miss <= beta * (1 + 1e-9)
    assert miss >= beta * (1 - 1e-6)


# ---------------------------------------------------------------------------
# False-alarm rate on correct code.  At the real budget (1e-8 per run) no alarm
# can be observed, so the rule is exercised at a measurable per-run level
# (alpha = 0.01): the alarm count must lie inside the central Binomial(R, alpha)
# interval of probability 1 - 1e-6.  Too many alarms = threshold too small; too
# few = threshold too large (power silently lost).


def _binomial_interval(r: int, p: float, budget: float = 1e-6) -> tuple[int, int]:
    return int(stats.binom.ppf(budget / 2, r, p)), int(stats.binom.isf(budget / 2, r, p))


@pytest.mark.statistical
def test_false_alarm_rate_monte_carlo(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reps, n, alpha = replications(3_000, 30_000), 2_000, 0.01
    alarms = 0
    for _ in range(reps):
        est = monte_carlo(lambda z: z[:, 0] ** 2, 1, n, rng)
        alarms += not check_agreement(est, 1.0, budget=alpha, n_examples=1).agrees
    lo, hi = _binomial_interval(reps, alpha)
    assert lo <= alarms <= hi, (alarms, lo, hi)


@pytest.mark.statistical
def test_false_alarm_rate_rqmc_student_t(seed: int) -> None:
    """RQMC with 16 scrambles needs t_15 thresholds; the count checks them."""
    rng = np.random.default_rng(seed)
    reps, alpha = replications(600, 6_000), 0.05
    f = lambda z: np.cos(z[:, 0] + z[:, 1])  # noqa: E731  (smooth, d = 2; see rqmc docs)
    alarms = 0
    for _ in range(reps):
        est = rqmc(f, 2, 6, rng)
        alarms += not check_agreement(est, math.exp(-1), budget=alpha, n_examples=1).agrees
    lo, hi = _binomial_interval(reps, alpha)
    assert lo <= alarms <= hi, (alarms, lo, hi)


# ---------------------------------------------------------------------------
# Power: a planted discrepancy of the stated size is caught


@pytest.mark.statistical
def test_planted_discrepancy_of_stated_size_is_caught(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 10_000
    n_ex = active_examples()
    se_true = math.sqrt(2.0 / n)  # sd of Z^2 is sqrt 2
    # 5 % margin over the true-SE detectable size: the estimated SE of a chi^2_1
    # mean at n = 1e4 has relative sd 1.9 %, so the margin covers 2.5 sd.
    delta = 1.05 * detectable_discrepancy(se_true, z_threshold(n_examples=n_ex))
    reps = replications(2_000, 20_000)
    misses = 0
    for _ in range(reps):
        est = monte_carlo(lambda z: z[:, 0] ** 2, 1, n, rng)
        # Detection only: the per-run power assertion of assert_agrees uses the
        # *estimated* SE, which exceeds the 5 % margin in ~0.3 % of runs.
        misses += check_agreement(est, 1.0 + delta, n_examples=n_ex).agrees
    # Stated miss probability beta = 1e-3; allow the upper 1e-6 binomial tail.
    assert misses <= stats.binom.isf(1e-6, reps, 1e-3), misses


def test_weak_check_is_refused() -> None:
    """A correct value with an SE too large for the promise raises InsufficientPower."""
    est = monte_carlo(lambda z: z[:, 0] ** 2, 1, 100, np.random.default_rng(0))
    with pytest.raises(InsufficientPower):
        assert_agrees(est, 1.0, must_detect=0.01, n_examples=1)
    rep = check_agreement(est, 1.0, must_detect=0.01, n_examples=1)
    assert not rep.powerful and rep.detectable > 0.01


def test_deterministic_estimate_rejects_tiny_discrepancy() -> None:
    """Quadrature (SE = 0): tolerance is truncation + rounding, so 1e-9 is rejected."""
    est = gauss_hermite(lambda z: z[:, 0] ** 4, 1, 5)
    assert_agrees(est, 3.0, must_detect=1e-12, n_examples=1)
    with pytest.raises(StatisticalDisagreement):
        assert_agrees(est, 3.0 + 1e-9, must_detect=1e-12, n_examples=1)


def test_estimate_bias_bound_widens_tolerance() -> None:
    est = Estimate(1.0, 0.0, 10, Method.GAUSS_HERMITE, bias_bound=1e-3)
    assert check_agreement(est, 1.0 + 5e-4, n_examples=1).agrees
    assert not check_agreement(est, 1.0 + 2e-3, n_examples=1).agrees


# ---------------------------------------------------------------------------
# Goodness of fit: false-alarm rate and power


@pytest.mark.statistical
@pytest.mark.parametrize("test", list(GofTest))
def test_gof_false_alarm_rate(test: GofTest, seed: int) -> None:
    rng = np.random.default_rng(seed)
    reps, alpha = replications(2_000, 20_000), 0.01
    alarms = sum(
        not gof_test(rng.standard_normal(200), stats.norm.cdf, test=test, budget=alpha,
                     n_examples=1).passed
        for _ in range(reps)
    )
    lo, hi = _binomial_interval(reps, alpha)
    assert lo <= alarms <= hi, (alarms, lo, hi)


@pytest.mark.statistical
@given(seed=seeds())
@example(seed=0)
@pytest.mark.parametrize("test", list(GofTest))
def test_gof_power_against_planted_slips(test: GofTest, seed: int) -> None:
    """n = 2e4 draws of N(0, beta) pass, while the textbook slips are rejected at
    the default budget: sd sqrt(beta) replaced by beta^(1/4) (a doubled square
    root), and a mean shifted by 0.2 sd.  The power is computed (an exact binomial lower
    bound) and asserted: at n = 1e4 the doubled root (KS distance 0.042 against a
    critical 0.032 at the thorough level) was certified only to 0.9982, hence n = 2e4
    (critical 0.023; bound > 1 - 1e-15).  The shift's distance is 0.2 phi(0) = 0.080."""
    beta = 0.5
    n_ex = active_examples(1)
    true = stats.norm(0, math.sqrt(beta)).cdf
    grid = np.linspace(-3.0, 3.0, 241)
    for slip in (stats.norm(0, beta**0.25).cdf, stats.norm(-0.2 * math.sqrt(beta),
                                                          math.sqrt(beta)).cdf):
        # power, computed before the draw (exact binomial lower bound); a shift of the
        # data by +0.2 sd against N(0, beta) is the same as N(0, beta) data against a
        # claim shifted by -0.2 sd
        assert ks_power_lower_bound(20_000, true, slip, grid, n_examples=n_ex) >= 1 - 1e-3
    rng = np.random.default_rng(seed)
    x = math.sqrt(beta) * rng.standard_normal(20_000)
    assert_gof(x, stats.norm(0, math.sqrt(beta)).cdf, test=test, n_examples=n_ex)
    with pytest.raises(StatisticalDisagreement):
        assert_gof(x, stats.norm(0, beta**0.25).cdf, test=test, n_examples=n_ex)
    with pytest.raises(StatisticalDisagreement):
        assert_gof(x + 0.2 * math.sqrt(beta), stats.norm(0, math.sqrt(beta)).cdf, test=test,
                   n_examples=n_ex)


# ---------------------------------------------------------------------------
# Power as a computed number: rejection_probability / assert_power, and the KS bound


@given(budget=st.floats(1e-9, 1e-2), n=st.integers(1, 1000), beta=st.floats(1e-6, 0.2))
def test_rejection_probability_at_the_detectable_discrepancy(budget, n, beta) -> None:
    """The two formulas agree: at delta = (z_a + z_b) SE the power is 1 - beta (up to the
    far tail Phi(-2 z_a - z_b)), and at delta = 0 it is the per-run alpha."""
    thr = z_threshold(budget, n)
    delta = detectable_discrepancy(2.0, thr, beta=beta)
    assert rejection_probability(delta, 2.0, thr) == pytest.approx(1 - beta, abs=1e-9 * beta)
    assert rejection_probability(0.0, 2.0, thr) == pytest.approx(budget / n, rel=1e-9)


def test_rejection_probability_with_a_claimed_variance_and_with_t() -> None:
    # A claim with its own (wrong) SE: est ~ N(c + d, 1), rule uses SE 2 -> threshold 2 t.
    thr = 3.0
    got = rejection_probability(7.0, 2.0, thr, true_stderr=1.0)
    assert got == pytest.approx(stats.norm.cdf(1.0) + stats.norm.cdf(-13.0), rel=1e-12)
    # Finite dof, no discrepancy: the t tail; large dof tends to the normal power.
    assert rejection_probability(0.0, 1.0, thr, dof=15) == pytest.approx(
        2 * stats.t.sf(thr, 15), rel=1e-9)
    assert rejection_probability(5.0, 1.0, thr, dof=1e7) == pytest.approx(
        rejection_probability(5.0, 1.0, thr), rel=1e-5)
    with pytest.raises(ValueError):
        rejection_probability(1.0, 0.0, thr)


def test_assert_power_refuses_a_weak_check() -> None:
    se = 0.01
    strong = 10 * se  # z_a = 4.89 at one check, + z_b = 3.09: 7.98 SE needed
    assert assert_power(strong, se, n_examples=1) >= 1 - 1e-3
    with pytest.raises(InsufficientPower, match="power"):
        assert_power(7 * se, se, n_examples=1, what="too weak")


def test_ks_power_lower_bound_is_a_lower_bound() -> None:
    """Under the null the bound cannot exceed alpha (it bounds P(reject) = alpha from
    below); against a 0.2 sd shift at n = 1e4 it certifies power far above 1 - 1e-3."""
    grid = np.linspace(-3, 3, 121)
    null = ks_power_lower_bound(10_000, stats.norm.cdf, stats.norm.cdf, grid, n_examples=1)
    assert null <= 1e-6 * (1 + 1e-6)
    shifted = ks_power_lower_bound(10_000, stats.norm(0.2).cdf, stats.norm.cdf, grid,
                                   n_examples=401)
    assert shifted >= 1 - 1e-9
    weak = ks_power_lower_bound(10_000, stats.norm(0.02).cdf, stats.norm.cdf, grid,
                                n_examples=401)
    assert weak < 0.01  # a 0.02 sd shift (D = 0.008 < d* = 0.032) is not certified


def test_ks_critical_value_matches_the_p_value() -> None:
    for n, alpha in ((200, 1e-6), (10_000, 2.5e-9)):
        d = ks_critical_value(n, alpha)
        assert float(stats.kstwo.sf(d, n)) == pytest.approx(alpha, rel=1e-9)
    with pytest.raises(ValueError):
        ks_critical_value(0, 0.1)
