"""Acceptance rules for statistical checks (docs/verification.md tiers S3 and S4).

A statistical check compares an :class:`~ddpm_theory.numeric.estimators.Estimate`
with an exact value.  Its threshold is not a tuning knob: it follows from a
*false-alarm budget* -- the probability that one test function fails on
correct code -- which docs/verification.md fixes at 1e-6.  A Hypothesis test runs
its check once per example, so by the union bound each run gets
``alpha = budget / n_examples`` and the two-sided threshold is

    z_alpha = Phi^{-1}(1 - alpha / 2)            (5.73 at 100 examples, 5.49 at 25)

or the Student-t quantile with ``Estimate.dof`` degrees of freedom when the
standard error is itself estimated from few replicates (RQMC with R scrambles).

A threshold alone does not make a check meaningful: a huge SE passes anything.
Every check therefore also states its *power*: with miss probability ``beta``
(default 1e-3), the smallest discrepancy it is sure to catch is

    delta_min = (z_alpha + z_beta) * SE

(the textbook one-sample power formula, e.g. Casella & Berger 2002, section
8.3.1; for finite dof the t quantiles give the usual approximation).

Means with a sample SE (plain MC, control variates) are judged by the
skewness-corrected rule of :mod:`~ddpm_theory.numeric.skewness` when the
:class:`~ddpm_theory.numeric.estimators.Estimate` carries its summands' skewness.
:func:`rejection_probability` and :func:`assert_power` compute a check's power
against a given discrepancy, so that a planted slip's detection is a checked number.
:func:`assert_agrees` fails when the estimate disagrees with the exact value
*and* when ``delta_min`` exceeds the discrepancy the caller says the test must
catch (:class:`InsufficientPower`).

Samplers (tier S4) are checked by goodness of fit against a fully specified
CDF with :func:`gof_test`: Kolmogorov--Smirnov (``scipy.stats.kstest``; exact
null distribution for n <= 10 000, Simard & L'Ecuyer 2011, whose tail stays
accurate far below 1e-9).  The same budget split gives the rejection level,
which satisfies S4's "failure rate <= 1 / (number of such tests)" for any
suite of fewer than 10^6 such tests.

Two other statistics were considered and are deliberately absent, because
their SciPy p-values cannot express a per-run level near 1e-8:

* Anderson--Darling: ``scipy.stats.anderson`` tests only composite
  (fitted-parameter) nulls, with tabulated p-values;
* Cramér--von Mises: ``scipy.stats.cramervonmises`` loses its tail -- measured
  on 10^4 draws of N(0, 1/2) against a shifted CDF, statistic 10.6 -> p 1e-10,
  39 -> 8e-9, 86 -> 3e-8 (non-monotone; the true p-values are below 1e-100).
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ddpm_theory.numeric.estimators import Estimate
from ddpm_theory.numeric.skewness import skew_corrected_bounds

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_BETA",
    "AcceptanceReport",
    "GofReport",
    "GofTest",
    "InsufficientPower",
    "StatisticalDisagreement",
    "active_examples",
    "per_run_alpha",
    "z_threshold",
    "detectable_discrepancy",
    "rejection_probability",
    "skew_corrected_bounds",
    "assert_power",
    "check_agreement",
    "assert_agrees",
    "gof_test",
    "assert_gof",
    "ks_critical_value",
    "ks_power_lower_bound",
]

DEFAULT_BUDGET = 1e-6
"""False-alarm probability per test function (docs/verification.md, S3)."""

DEFAULT_BETA = 1e-3
"""Miss probability used in power statements (power 99.9 %)."""

_FLOAT_FLOOR = 64 * np.finfo(np.float64).eps
"""Relative rounding allowance for deterministic (stderr = 0) estimates: a
weighted sum of up to ~10^6 float64 terms accumulates O(log n) eps with
pairwise summation; 64 eps is a generous bound for that."""


class StatisticalDisagreement(AssertionError):
    """The estimate lies outside ``exact ± threshold``."""


class InsufficientPower(AssertionError):
    """The check is too weak to catch the discrepancy it promises to catch."""


def active_examples(explicit: int = 0) -> int:
    """Number of check runs of one Hypothesis test under the active profile.

    ``max_examples`` of the loaded profile plus ``explicit`` pinned
    ``@example`` cases.  Tests that override ``max_examples`` with their own
    ``@settings`` must pass their count explicitly instead.
    """
    from hypothesis import settings  # test dependency: imported only when asked

    return int(settings().max_examples) + int(explicit)


def per_run_alpha(budget: float = DEFAULT_BUDGET, n_examples: int | None = None) -> float:
    """Union-bound share of ``budget`` for one of ``n_examples`` runs."""
    if not 0.0 < budget < 1.0:
        raise ValueError(f"budget must lie in (0, 1); got {budget}")
    n = active_examples() if n_examples is None else int(n_examples)
    if n < 1:
        raise ValueError(f"n_examples must be >= 1; got {n}")
    return budget / n


def _upper_quantile(p_upper: float, dof: float) -> float:
    """``q`` with P(X > q) = p_upper for X ~ N(0,1) (dof = inf) or t_dof."""
    if math.isinf(dof):
        return float(-stats.norm.ppf(p_upper))
    return float(-stats.t.ppf(p_upper, dof))


def z_threshold(
    budget: float = DEFAULT_BUDGET,
    n_examples: int | None = None,
    *,
    two_sided: bool = True,
    dof: float = math.inf,
) -> float:
    """Rejection threshold for ``|value - exact| / SE`` at the per-run level.

    >>> round(z_threshold(1e-6, 100), 2)
    5.73
    >>> round(z_threshold(1e-6, 25), 2)
    5.49
    """
    alpha = per_run_alpha(budget, n_examples)
    return _upper_quantile(alpha / 2 if two_sided else alpha, dof)


def detectable_discrepancy(
    stderr: float, threshold: float, *, beta: float = DEFAULT_BETA, dof: float = math.inf
) -> float:
    """Smallest |discrepancy| caught with probability >= 1 - beta: ``(z_a + z_b) * SE``."""
    if not 0.0 < beta < 0.5:
        raise ValueError(f"beta must lie in (0, 0.5); got {beta}")
    return (threshold + _upper_quantile(beta, dof)) * stderr


def rejection_probability(
    discrepancy: float,
    stderr: float,
    threshold: float,
    *,
    true_stderr: float | None = None,
    dof: float = math.inf,
) -> float:
    """Probability that ``|estimate - claimed| > threshold * stderr`` rejects a claim that
    is off by ``discrepancy`` (the power of the rule against that discrepancy).

    Normal reference (``dof = inf``): the estimate is ``N(claimed + discrepancy,
    true_stderr^2)`` and ``stderr`` is the SE the rule uses (``true_stderr`` defaults to it;
    they differ when the claim carries its own variance, e.g. a planted wrong variance), so

        power = Phi((d - t SE) / SE_true) + Phi((-d - t SE) / SE_true).

    Finite ``dof`` (an SE estimated on ``dof`` degrees of freedom, Gaussian replicates):
    the studentised error is noncentral t with noncentrality ``d / SE`` (Casella &
    Berger 2002, section 8.3), and ``power = P(|T'| > t)``.
    """
    if not stderr > 0.0:
        raise ValueError(f"stderr must be > 0; got {stderr}")
    d = abs(float(discrepancy))
    if math.isinf(dof):
        se_t = stderr if true_stderr is None else float(true_stderr)
        if not se_t > 0.0:
            raise ValueError(f"true_stderr must be > 0; got {true_stderr}")
        return float(stats.norm.cdf((d - threshold * stderr) / se_t)
                     + stats.norm.cdf((-d - threshold * stderr) / se_t))
    if true_stderr is not None:
        raise ValueError("true_stderr applies to the normal reference only (dof = inf)")
    ncp = d / stderr
    return float(stats.nct.sf(threshold, dof, ncp) + stats.nct.cdf(-threshold, dof, ncp))


def assert_power(
    discrepancy: float,
    stderr: float,
    *,
    budget: float = DEFAULT_BUDGET,
    n_examples: int | None = None,
    beta: float = DEFAULT_BETA,
    true_stderr: float | None = None,
    dof: float = math.inf,
    what: str = "",
) -> float:
    """Assert that the two-sided rule at the per-run level of ``budget`` rejects a claim
    off by ``discrepancy`` with probability >= ``1 - beta``; return that probability."""
    thr = z_threshold(budget, n_examples, dof=dof)
    power = rejection_probability(discrepancy, stderr, thr, true_stderr=true_stderr, dof=dof)
    if not power >= 1.0 - beta:
        raise InsufficientPower(
            f"{what + ': ' if what else ''}power {power:.6g} < 1 - {beta:g} against a "
            f"discrepancy {discrepancy:.4g} (SE {stderr:.4g}, threshold {thr:.4g})")
    return power


@dataclass(frozen=True)
class AcceptanceReport:
    """Outcome of comparing an estimate with an exact value.

    The check accepts ``-tolerance_below <= value - exact <= tolerance_above``: each is
    ``threshold * SE + bias_bound`` (plus a rounding floor when SE = 0), the heavy side
    lengthened by the skewness correction (:func:`skew_corrected_bounds`);
    ``tolerance`` is the larger.  ``detectable`` = the discrepancy (either sign) caught
    with probability ``1 - beta``; ``must_detect`` = what the caller requires (``None``:
    not asserted).
    """

    estimate: Estimate
    exact: float
    alpha: float
    threshold: float
    tolerance: float
    detectable: float
    must_detect: float | None
    tolerance_below: float = math.nan
    tolerance_above: float = math.nan

    def __post_init__(self) -> None:  # a symmetric report unless both sides are given
        for side in ("tolerance_below", "tolerance_above"):
            if math.isnan(getattr(self, side)):
                object.__setattr__(self, side, self.tolerance)

    @property
    def error(self) -> float:
        return self.estimate.value - self.exact

    @property
    def agrees(self) -> bool:
        return -self.tolerance_below <= self.error <= self.tolerance_above

    @property
    def powerful(self) -> bool:
        return self.must_detect is None or self.detectable <= self.must_detect

    def describe(self) -> str:
        e = self.estimate
        return (
            f"{e.method.value}: value={e.value:.12g} exact={self.exact:.12g} "
            f"error={self.error:.3g} tolerance=-{self.tolerance_below:.3g}/"
            f"+{self.tolerance_above:.3g} (threshold {self.threshold:.3g} x SE "
            f"{e.stderr:.3g}, dof {e.dof}, skewness {e.skewness:.3g}, "
            f"alpha {self.alpha:.3g}); detectable={self.detectable:.3g} "
            f"must_detect={self.must_detect}"
        )


def check_agreement(
    estimate: Estimate,
    exact: float,
    *,
    must_detect: float | None = None,
    budget: float = DEFAULT_BUDGET,
    n_examples: int | None = None,
    beta: float = DEFAULT_BETA,
) -> AcceptanceReport:
    """Compute the :class:`AcceptanceReport` without asserting anything.

    An estimate with a nonzero ``skewness`` is judged by the skewness-corrected rule
    (:func:`skew_corrected_bounds`), its power by the longer side of that interval."""
    alpha = per_run_alpha(budget, n_examples)
    thr = _upper_quantile(alpha / 2, estimate.dof)
    e = estimate
    if e.stderr > 0.0:
        lo, hi = (-thr, thr) if e.skewness == 0.0 else skew_corrected_bounds(thr, e.skewness, e.n)
        below, above = -lo * e.stderr + e.bias_bound, hi * e.stderr + e.bias_bound
        detect = detectable_discrepancy(e.stderr, max(-lo, hi), beta=beta, dof=e.dof)
        detect += 2.0 * e.bias_bound
    else:  # deterministic: only truncation and rounding error
        below = above = e.bias_bound + _FLOAT_FLOOR * (1.0 + abs(exact))
        detect = 2.0 * below
    return AcceptanceReport(e, float(exact), alpha, thr, max(below, above), detect, must_detect,
                            below, above)


def assert_agrees(
    estimate: Estimate,
    exact: float,
    *,
    must_detect: float | None,
    budget: float = DEFAULT_BUDGET,
    n_examples: int | None = None,
    beta: float = DEFAULT_BETA,
    what: str = "",
) -> AcceptanceReport:
    """Assert ``estimate`` agrees with ``exact`` and that the check has the stated power.

    ``must_detect`` is the absolute discrepancy the test promises to catch
    (for instance the size of the planted wrong variant, or a relative
    accuracy times ``|exact|``).  Pass ``None`` only with a comment saying why
    no power statement applies.
    """
    rep = check_agreement(
        estimate, exact, must_detect=must_detect, budget=budget, n_examples=n_examples, beta=beta
    )
    label = f"{what}: " if what else ""
    if not rep.powerful:
        raise InsufficientPower(label + "check too weak; " + rep.describe())
    if not rep.agrees:
        raise StatisticalDisagreement(label + rep.describe())
    return rep


class GofTest(enum.Enum):
    """Goodness-of-fit statistics against a fully specified continuous CDF
    (only those whose p-values are accurate at 1e-8; see the module docstring)."""

    KOLMOGOROV_SMIRNOV = "ks"


@dataclass(frozen=True)
class GofReport:
    """Outcome of a goodness-of-fit test: reject when ``pvalue < alpha``."""

    test: GofTest
    statistic: float
    pvalue: float
    alpha: float
    n: int

    @property
    def passed(self) -> bool:
        return self.pvalue >= self.alpha


def gof_test(
    samples: np.ndarray,
    cdf: Callable[[np.ndarray], np.ndarray],
    *,
    test: GofTest = GofTest.KOLMOGOROV_SMIRNOV,
    budget: float = DEFAULT_BUDGET,
    n_examples: int | None = None,
) -> GofReport:
    """Goodness of fit of 1-D ``samples`` to the continuous ``cdf``."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    if x.size < 8:
        raise ValueError("need at least 8 samples for a goodness-of-fit test")
    alpha = per_run_alpha(budget, n_examples)
    if test is not GofTest.KOLMOGOROV_SMIRNOV:  # pragma: no cover - one member today
        raise ValueError(f"unsupported test {test}")
    res = stats.kstest(x, cdf)
    return GofReport(test, float(res.statistic), float(res.pvalue), alpha, int(x.size))


@functools.lru_cache(maxsize=256)  # kstwo.sf is slow at large n; the value is a pure function
def ks_critical_value(n: int, alpha: float) -> float:
    """The Kolmogorov--Smirnov distance ``d*`` at which :func:`gof_test` starts rejecting
    ``n`` samples at level ``alpha`` (``scipy.stats.kstwo.sf(d*, n) = alpha``, the p-value
    ``kstest`` reports), found by root bracketing on the same survival function."""
    from scipy import optimize

    if n < 1 or not 0.0 < alpha < 1.0:
        raise ValueError(f"need n >= 1 and alpha in (0, 1); got n={n}, alpha={alpha}")
    lo = 1e-12  # sf(lo) = 1 > alpha; sf(1) = 0 < alpha
    return float(optimize.brentq(lambda d: float(stats.kstwo.sf(d, n)) - alpha, lo, 1.0,
                                 xtol=1e-15, rtol=1e-13))


def ks_power_lower_bound(
    n: int,
    true_cdf: Callable[[np.ndarray], np.ndarray],
    claimed_cdf: Callable[[np.ndarray], np.ndarray],
    grid: np.ndarray,
    *,
    budget: float = DEFAULT_BUDGET,
    n_examples: int | None = None,
) -> float:
    """A lower bound on the power of :func:`gof_test` (``n`` samples from ``true_cdf``,
    tested against ``claimed_cdf``), exact in binomial arithmetic.

    At any point ``x``, ``D >= |F_n(x) - F(x)|`` and ``n F_n(x) ~ Binomial(n, G(x))``, so
    ``P(D > d*) >= P(|K/n - F(x)| > d*)`` with ``K`` that binomial; the bound is the largest
    such probability over ``grid`` (put the grid where ``|G - F|`` peaks).
    """
    d_star = ks_critical_value(n, per_run_alpha(budget, n_examples))
    x = np.asarray(grid, dtype=np.float64).ravel()
    g, f = np.asarray(true_cdf(x), np.float64), np.asarray(claimed_cdf(x), np.float64)
    # K > n (F + d*)  <=>  K >= floor(n (F + d*)) + 1;  K < n (F - d*)  <=>  K <= ceil(.) - 1
    upper = stats.binom.sf(np.floor(n * (f + d_star)), n, g)
    lower = stats.binom.cdf(np.ceil(n * (f - d_star)) - 1, n, g)
    return float(np.max(upper + lower))


def assert_gof(
    samples: np.ndarray,
    cdf: Callable[[np.ndarray], np.ndarray],
    *,
    test: GofTest = GofTest.KOLMOGOROV_SMIRNOV,
    budget: float = DEFAULT_BUDGET,
    n_examples: int | None = None,
    what: str = "",
) -> GofReport:
    """Assert that ``samples`` are consistent with ``cdf`` at the per-run level."""
    rep = gof_test(samples, cdf, test=test, budget=budget, n_examples=n_examples)
    if not rep.passed:
        raise StatisticalDisagreement(
            f"{what + ': ' if what else ''}{test.value} statistic {rep.statistic:.4g}, "
            f"p = {rep.pvalue:.3g} < alpha = {rep.alpha:.3g} (n = {rep.n})"
        )
    return rep
