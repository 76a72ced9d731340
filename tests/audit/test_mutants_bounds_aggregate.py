"""Means, standard errors, ranges of t and flags of the audit (ddpm_theory/audit/aggregate.py,
groups.py), each against a value computed here with numpy loops and scipy. Written against
the survivors of mutation testing (mutation/run.py); each docstring names the planted
errors it catches."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import optimize, stats

from ddpm_theory.audit import aggregate
from ddpm_theory.audit.aggregate import ROUNDING, compare, flag_threshold, studentised
from ddpm_theory.audit.groups import N_GROUPS, group_terms, range_sum, t_ranges


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    """Mean and sd/√n written out: sd² = Σ(x − x̄)²/(n − 1)."""
    n = len(x)
    m = sum(x) / n
    return m, math.sqrt(sum((xi - m) ** 2 for xi in x) / (n - 1) / n)


# -- value ---------------------------------------------------------------------------------
def test_value_is_the_mean_and_its_standard_error() -> None:
    """Planted: ``ddof=1`` -> ``ddof=2`` or dropped, √n -> √(n + 1), the count changed."""
    x = np.array([1.0, 4.0, 2.5, -0.5, 3.0])
    m, se = _mean_se(x)
    v = aggregate.value(x)
    assert (v.nats, v.n) == (pytest.approx(m, rel=1e-15), 5)
    assert v.stderr == pytest.approx(se, rel=1e-14)


def test_value_of_one_or_no_example() -> None:
    """Planted: ``n > 1`` -> ``n >= 1`` (sd of one value is undefined: stderr inf, with
    no warning) or ``n > 2`` (two values have one), ``n == 0`` -> ``n == 1``, the
    NaN/inf/0 of an empty mean changed."""
    two = aggregate.value(np.array([1.0, 3.0]))  # sd √2, stderr √2/√2
    assert (two.nats, two.stderr, two.n) == (2.0, pytest.approx(1.0, rel=1e-15), 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = aggregate.value(np.array([2.5]))
        none = aggregate.value(np.array([]))
    assert (one.nats, one.stderr, one.n) == (2.5, math.inf, 1)
    assert math.isnan(none.nats) and (none.stderr, none.n) == (math.inf, 0)


# -- group_by_t / skewness_by_t --------------------------------------------------------------
T_ROWS = np.array([[7, 3, 3], [9, 7, 3], [7, 12, 12]])
X_ROWS = np.array([[1.0, 0.2, 0.5], [4.0, 2.0, 0.9], [-1.0, 3.0, 3.5]])


def test_group_by_t_written_out() -> None:
    """Planted: the sd's n − 1 changed (``np.maximum(counts - 1, 2)``), the stderr's /n
    dropped, the mean not subtracted, a count-1 group given a finite stderr, the order or
    dtype of t changed."""
    ts, mean, se, counts = aggregate.group_by_t(T_ROWS, X_ROWS)
    t, x = T_ROWS.ravel(), X_ROWS.ravel()
    assert ts.tolist() == [3, 7, 9, 12] and ts.dtype == np.int64
    assert counts.tolist() == [3, 3, 1, 2] and counts.dtype == np.int64
    for i, k in enumerate([3, 7, 9, 12]):
        xs = x[t == k]
        assert mean[i] == pytest.approx(sum(xs) / len(xs), rel=1e-14)
        if len(xs) > 1:
            assert se[i] == pytest.approx(_mean_se(xs)[1], rel=1e-13)
        else:
            assert se[i] == math.inf


def test_skewness_by_t_is_the_biased_sample_skewness() -> None:
    """Planted: m_2 or m_3 divided by n − 1, the power 3/2 changed, the floor 1e-300
    raised (a group of variance < 1 must not be floored), the 0 of a constant group
    changed, or the errstate around 0/0 removed (a warning)."""
    t = np.array([1, 1, 1, 1, 2, 2, 2, 3, 4, 4])
    x = np.array([0.1, 0.35, 0.2, 0.9, 5.0, 5.0, 5.0, 2.0, 0.0, 1e-3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = aggregate.skewness_by_t(t, x)
    want = [stats.skew(x[t == k], bias=True) for k in (1, 4)]
    np.testing.assert_allclose(got[[0, 3]], want, rtol=1e-12)
    assert got[1] == 0.0 and got[2] == 0.0


# -- flag_threshold / studentised ------------------------------------------------------------
@pytest.mark.parametrize(("n", "share"), [(0, 1), (1, 1), (5, 5)])
def test_flag_threshold_is_one_sided(n: int, share: int) -> None:
    """Planted: two-sided (α/2), the floor of one comparison changed (``max(n, 2)``)."""
    assert flag_threshold(1e-3, n) == pytest.approx(stats.norm.isf(1e-3 / share), rel=1e-12)


@pytest.mark.parametrize("n", [2, 3, 16])
def test_studentised_is_the_t_quantile_of_the_same_level(n: int) -> None:
    """Planted: ``n < 2`` -> ``n <= 2``, n − 1 dof -> n or n − 2, the sign changed."""
    z = 2.7
    assert studentised(z, n) == pytest.approx(stats.t.isf(stats.norm.sf(z), n - 1), rel=1e-10)


def test_studentised_leaves_z_without_a_sample_stderr() -> None:
    """Planted: ``n < 2`` -> ``n < 1``, ``not isfinite`` inverted (t quantile of Φ(−∞))."""
    assert studentised(2.7, 1) == 2.7 and studentised(2.7, 0) == 2.7
    assert studentised(math.inf, 10) == math.inf


# -- compare -------------------------------------------------------------------------------
def _hall_inverse(c: float, g: float, n: int) -> float:
    """The root T of Hall's h(T) = T + b + aT² + a²T³/3 = c, a = g/(3√n), b = g/(6√n)
    (Hall 1992, "On the removal of skewness by transformation"), by bisection."""
    a, b = g / (3 * math.sqrt(n)), g / (6 * math.sqrt(n))
    return optimize.brentq(lambda T: T + b + a * T**2 + a**2 * T**3 / 3 - c, -1e3, 1e3,
                           xtol=1e-14)


def _no_flag(**kw: object) -> None:
    assert compare(**kw) is None  # type: ignore[arg-type]


def test_compare_below_with_sample_stderr_uses_the_t_quantile() -> None:
    """Planted: the studentisation dropped or applied at n − 2 dof, slack
    1e-9·(1 + |bound|) changed, ``<`` -> ``<=``/``>``, the Flag's fields (kind, term, t,
    value, bound, stderr, z) or its message changed. Boundary at −(z_t·se + slack)."""
    z, n, se, bound = 3.0, 10, 0.1, -3.0
    zt = stats.t.isf(stats.norm.sf(z), n - 1)
    edge = -(zt * se + 1e-9 * (1 + abs(bound)))
    kw = dict(term="L_t", t=17, stderr=se, bound=bound, z=z, below_kind="below_bayes", n=n)
    _no_flag(gap=edge * (1 - 1e-9), **kw)
    f = compare(gap=edge * (1 + 1e-9), **kw)  # type: ignore[arg-type]
    assert f is not None
    g = edge * (1 + 1e-9)
    assert (f.kind, f.term, f.t) == ("below_bayes", "L_t", 17)
    assert (f.value, f.bound, f.stderr) == (pytest.approx(bound + g, rel=1e-15), bound, se)
    assert f.z == pytest.approx(g / se, rel=1e-15)
    assert f.message == (f"L_t at t = 17 is {-g:.4g} nats below its bound {bound:.6g} "
                         f"(z = {g / se:.3g} < -{zt:.3g}): the audit or the data law is wrong")
    assert ROUNDING == 1e-9


def test_compare_above_only_with_an_above_kind() -> None:
    """Planted: the ``above_kind is not None`` test inverted, the slack's sign, the message
    words or numbers changed, ``value_`` ignored."""
    z, n, se, bound = 2.0, 25, 0.05, 1.5
    zt = stats.t.isf(stats.norm.sf(z), n - 1)
    edge = zt * se + 1e-9 * (1 + bound)
    kw = dict(term="L_0", t=None, stderr=se, bound=bound, z=z, below_kind="below_bayes", n=n)
    _no_flag(gap=edge * 1.5, **kw)
    _no_flag(gap=edge * (1 - 1e-9), above_kind="above_bayes", **kw)
    f = compare(gap=edge * (1 + 1e-9), above_kind="above_bayes", value_=7.25,
                **kw)  # type: ignore[arg-type]
    assert f is not None
    g = edge * (1 + 1e-9)
    assert (f.kind, f.term, f.t, f.value, f.bound, f.stderr) == (
        "above_bayes", "L_0", None, 7.25, bound, se)
    assert f.z == pytest.approx(g / se, rel=1e-15)
    assert f.message == (f"L_0 exceeds its Bayes-optimal value {bound:.6g} by {g:.4g} nats "
                         f"(z = {g / se:.3g} > {zt:.3g}): a suboptimal model or a "
                         "mis-specified audit")


def test_compare_deterministic_comparison_uses_the_slack_only() -> None:
    """Planted: with stderr 0, z studentised (``stderr > 0`` -> ``>= 0``: the message's z
    changes), ``zs`` not ±inf, ``1 + |bound|`` -> ``2 + |bound|`` or ``|bound|`` dropped
    for a negative bound."""
    for bound in (3.0, -3.0):
        kw = dict(term="prior", t=None, stderr=0.0, bound=bound, z=4.0,
                  below_kind="prior_mismatch", above_kind="prior_mismatch", n=10)
        _no_flag(gap=-3.9e-9, **kw)
        _no_flag(gap=3.9e-9, **kw)
        _no_flag(gap=0.0, **kw)
        lo = compare(gap=-4.1e-9, **kw)  # type: ignore[arg-type]
        hi = compare(gap=4.1e-9, **kw)  # type: ignore[arg-type]
        assert lo is not None and hi is not None
        assert (lo.z, hi.z) == (-math.inf, math.inf)
        assert lo.message == (f"prior is 4.1e-09 nats below its bound {bound:.6g} "
                              "(z = -inf < -4): the audit or the data law is wrong")
        assert "(z = inf > 4)" in hi.message


def test_compare_without_a_finite_gap_or_stderr_never_flags() -> None:
    """Planted: ``not isfinite(gap)`` inverted, an infinite stderr replaced (the bound is
    then −inf·z: nothing is significant)."""
    kw = dict(term="L_t", t=3, bound=0.0, z=3.0, below_kind="below_floor",
              above_kind="above_bayes", n=10)
    _no_flag(gap=math.nan, stderr=0.1, **kw)
    _no_flag(gap=-1e6, stderr=math.inf, **kw)
    _no_flag(gap=1e6, stderr=math.inf, **kw)


@pytest.mark.parametrize(("z", "n"), [(1.0, 3), (3.0, 30)])
@pytest.mark.parametrize("g", [1.5, 1.0, -1.5])
def test_compare_moves_the_heavy_side_by_hall_for_skewed_summands(g: float, z: float,
                                                                  n: int) -> None:
    """Planted: the skewness correction skipped (``n >= 3`` -> ``n >= 4``/``> 3``, the
    ``!= 0`` test inverted or moved to ``!= 1``), applied to the wrong side, or fed the
    normal z: with sample skewness g of n summands the heavy side's limit is Hall's
    h⁻¹(∓z_t) (h(T) = T + b + aT² + a²T³/3), stopped at h's stationary point −1/a
    (reached at n = 3); the light side's stays ±z_t."""
    se = 0.2
    zt = stats.t.isf(stats.norm.sf(z), n - 1)
    stop = -3 * math.sqrt(n) / g
    if g > 0:
        heavy = min(max(_hall_inverse(-zt, g, n), stop), -zt)
    else:
        heavy = max(min(_hall_inverse(zt, g, n), stop), zt)
    assert abs(abs(heavy) - zt) > 0.5  # the correction is material here
    light = zt if g > 0 else -zt
    kw = dict(term="L_t", t=5, stderr=se, bound=0.0, z=z, below_kind="below_bayes",
              above_kind="above_bayes", skewness=g, n=n)
    for lim in (heavy, light):
        edge = lim * se + math.copysign(1e-9, lim)
        _no_flag(gap=edge - math.copysign(1e-6, lim), **kw)
        f = compare(gap=edge + math.copysign(1e-6, lim), **kw)  # type: ignore[arg-type]
        assert f is not None and f.kind == ("below_bayes" if lim < 0 else "above_bayes")
    # the same gaps without skewness are judged at ±z_t on both sides
    plain = dict(kw, skewness=0.0)
    _no_flag(gap=-zt * se + 1e-6, **plain)
    assert compare(gap=-zt * se - 1e-6, **plain) is not None  # type: ignore[arg-type]


def test_compare_skewness_needs_three_summands_and_a_finite_value() -> None:
    """Planted: ``n >= 3`` -> ``n >= 2`` (Hall's rule needs n ≥ 3), the finiteness test of
    the skewness dropped (a NaN skewness would then raise)."""
    z, se = 3.0, 0.2
    for n, g in ((2, 1.5), (10, math.nan), (10, math.inf)):
        zt = stats.t.isf(stats.norm.sf(z), n - 1)
        kw = dict(term="L_t", t=5, stderr=se, bound=0.0, z=z, below_kind="below_bayes",
                  above_kind="above_bayes", skewness=g, n=n)
        _no_flag(gap=-zt * se + 1e-6, **kw)
        assert compare(gap=-zt * se - 1e-6, **kw) is not None  # type: ignore[arg-type]
        _no_flag(gap=zt * se - 1e-6, **kw)
        assert compare(gap=zt * se + 1e-6, **kw) is not None  # type: ignore[arg-type]


# -- groups --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("T", "want"),
    [
        (1, []),
        (2, [(2, 2)]),
        (5, [(2, 2), (3, 3), (4, 4), (5, 5)]),
        (11, [(k, k) for k in range(2, 12)]),
        (23, [(2, 4), (5, 7), (8, 9), (10, 11), (12, 13), (14, 15), (16, 17), (18, 19),
              (20, 21), (22, 23)]),
    ],
)
def test_t_ranges_are_deciles_of_2_to_T(T: int, want: list[tuple[int, int]]) -> None:
    """Planted: ``T < 2`` -> ``T < 3``/``<= 2``, the range starting at 1 or ending at
    T − 1, T − 1 parts -> T parts, ten groups -> eleven."""
    assert N_GROUPS == 10
    assert t_ranges(T) == want


def test_t_ranges_with_fewer_groups() -> None:
    """Planted: ``n_groups`` ignored."""
    assert t_ranges(9, 3) == [(2, 4), (5, 7), (8, 9)]


def test_range_sum_is_the_mean_of_per_example_kept_sums() -> None:
    """Planted: the slots not kept counted (``where`` fill 0 -> 1), the weights dropped,
    the sum over examples instead of slots."""
    w = np.array([[2.0, 1.0, 0.5], [1.0, 3.0, 2.0], [0.5, 0.5, 4.0]])
    x = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0], [4.0, 1.0, 0.0]])
    keep = np.array([[True, False, True], [False, True, True], [True, True, False]])
    per = [sum(w[i, k] * x[i, k] for k in range(3) if keep[i, k]) for i in range(3)]
    v = range_sum(w, x, keep)
    m, se = _mean_se(np.array(per))
    assert (v.nats, v.stderr, v.n) == (pytest.approx(m, rel=1e-15), pytest.approx(se, rel=1e-14), 3)


def test_group_terms_per_range_of_t() -> None:
    """Planted: a range's ends exclusive (``t >= lo`` -> ``t > lo``, ``t <= hi`` -> ``<``),
    ``loss`` and ``bayes`` swapped in the gap, the floor's array changed, ``bayes is None``
    inverted, the flag count over the wrong range (``lo <= s`` -> ``lo < s``)."""
    T = 4  # ranges (2, 2), (3, 3), (4, 4)
    t = np.array([[2, 3, 3, 4], [4, 2, 2, 3], [3, 4, 2, 2]])
    w = np.array([[1.0, 2.0, 0.5, 1.5], [0.5, 1.0, 2.0, 1.0], [2.0, 1.0, 1.0, 3.0]])
    loss = np.array([[3.0, 1.0, 4.0, 1.5], [9.0, 2.0, 6.0, 5.0], [3.0, 5.0, 8.0, 9.7]])
    bayes = np.array([[2.0, 0.5, 3.0, 1.0], [8.0, 1.5, 5.0, 4.5], [2.0, 4.0, 7.5, 9.0]])
    floor = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8], [0.9, 1.0, 1.1, 1.2]])
    flagged = {2, 4, 9}

    def per(a: np.ndarray, k: int) -> tuple[float, float]:
        return _mean_se(np.array([sum(w[i, j] * a[i, j] for j in range(4) if t[i, j] == k)
                                  for i in range(3)]))

    groups = group_terms(t, w, loss, floor, bayes, T, flagged)
    assert [(g.t_lo, g.t_hi, g.n_flagged) for g in groups] == [(2, 2, 1), (3, 3, 0), (4, 4, 1)]
    for g in groups:
        for got, arr in ((g.value, loss), (g.bayes, bayes), (g.gap, loss - bayes),
                         (g.floor, floor)):
            assert got is not None
            m, se = per(arr, g.t_lo)
            assert (got.nats, got.stderr, got.n) == (
                pytest.approx(m, rel=1e-13), pytest.approx(se, rel=1e-12), 3)
    none = group_terms(t, w, loss, floor, None, T, flagged)
    assert all(g.bayes is None and g.gap is None for g in none)
    assert [g.value for g in none] == [g.value for g in groups]
    wide = group_terms(np.full((1, 1), 5), np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1)),
                       None, 23, {4, 5, 7, 8})
    assert [g.n_flagged for g in wide][:4] == [1, 2, 1, 0]


def test_skewness_by_t_does_not_depend_on_the_scale() -> None:
    """A real error this test found: m_2^{3/2} underflowed to 0 for a group whose spread is
    below about 1e-108 (1e-110 here), and the skewness came out NaN instead of that of the
    same group scaled up (and a group of 0.1s, of rounded mean ≠ 0.1, came out −1).
    Planted: the rescaling by the largest deviation dropped, its
    floor for a constant group changed (``scale > 0`` -> ``>= 0``: 0/0)."""
    t = np.array([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 5, 5, 5])
    x = np.array([0.0, 0.0, 0.0, 1e-110, 0.0, 0.0, 0.0, 3.0, 0.25, 0.25, 0.1, 0.1, 0.1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = aggregate.skewness_by_t(t, x)
    want = stats.skew([0.0, 0.0, 0.0, 1.0], bias=True)
    np.testing.assert_allclose(got, [want, want, 0.0, 0.0], rtol=1e-14)


def test_skewness_by_t_of_a_constant_group_is_zero() -> None:
    """A real error this test found: a group of three 0.1 has the rounded mean
    0.30000000000000004/3 ≠ 0.1, deviations of −1.4e-17 each, and came out with skewness
    −1 instead of 0. Planted: the shift by the group's first entry dropped or taken from
    the wrong entry."""
    t = np.array([2, 9, 2, 2, 9, 9, 9])
    x = np.array([0.1, 0.7, 0.1, 0.1, 0.2, 0.7, 0.9])
    got = aggregate.skewness_by_t(t, x)
    assert got[0] == 0.0
    assert got[1] == pytest.approx(stats.skew([0.7, 0.2, 0.7, 0.9], bias=True), rel=1e-13)


def test_value_and_group_by_t_average_in_float64() -> None:
    """Planted: ``dtype=np.float64`` dropped in :func:`value`: a float32 mean of 1e8, 1,
    −1e8 loses the 1 (float32 has 24 bits); the per-example estimates of a float32 model
    must be averaged in float64."""
    x = np.array([1e8, 1.0, -1e8], dtype=np.float32)
    v = aggregate.value(x)
    assert v.nats == pytest.approx(1.0 / 3.0, rel=1e-15)
    assert v.stderr == pytest.approx(_mean_se(x.astype(np.float64))[1], rel=1e-15)
    _, mean, _, _ = aggregate.group_by_t(np.array([4, 4, 4]), x)
    assert mean[0] == pytest.approx(1.0 / 3.0, rel=1e-15)


def test_compare_gap_exactly_at_the_slack_is_not_flagged() -> None:
    """Planted: ``gap < lo·se − slack`` -> ``<=``, ``gap > hi·se + slack`` -> ``>=``: with
    stderr 0 and bound 0 the slack is exactly 1e-9, and a gap of exactly ±1e-9 lies within
    it (only a larger one is flagged)."""
    kw = dict(term="L_0", t=None, stderr=0.0, bound=0.0, z=3.0, below_kind="below_floor",
              above_kind="above_bayes", n=5)
    _no_flag(gap=-1e-9, **kw)
    _no_flag(gap=1e-9, **kw)
    assert compare(gap=-1.0000001e-9, **kw) is not None  # type: ignore[arg-type]
    assert compare(gap=1.0000001e-9, **kw) is not None  # type: ignore[arg-type]


def test_skewness_by_t_of_float32_entries_in_float64() -> None:
    """Planted: ``dtype=np.float64`` dropped: the shift by a group's first entry would be
    rounded in float32 (1e-8 − 1 is not a float32 number)."""
    t = np.array([3, 3, 3, 3])
    x = np.array([1.0, 1e-8, 3.0, 0.5], dtype=np.float32)
    want = stats.skew(x.astype(np.float64), bias=True)
    assert aggregate.skewness_by_t(t, x)[0] == pytest.approx(want, rel=1e-13)
