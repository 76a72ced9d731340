"""Schedules: published definitions written out independently here, the index
convention, derived arrays against a 50-digit oracle, and validation errors."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import example, given

from ddpm_theory.backend.schedule import SCHEDULES, Schedule, ScheduleError, get_schedule
from ddpm_theory.testing.strategies import EDGE_SCHEDULES, schedules

EPS = np.finfo(np.float64).eps


# -- published definitions --------------------------------------------------------------
@pytest.mark.parametrize("T", [1, 2, 10, 1000])
def test_linear_is_ho_et_al(T: int) -> None:
    # Ho et al. 2020, Sec. 4: beta linear from 1e-4 to 0.02. The same float64 linspace on
    # both sides, so equality is exact (tolerance 0).
    want = np.linspace(1e-4, 0.02, T, dtype=np.float64)
    s = Schedule.linear(T, 1e-4, 0.02)
    np.testing.assert_array_equal(s.betas, want)
    assert s.betas.dtype == np.float64 and s.T == T


def test_linear_scale_to_T() -> None:
    # Nichol & Dhariwal's rescaling: both ends times 1000/T; 4 ulp for the product order
    s = Schedule.linear(100, scale_to_T=True)
    np.testing.assert_allclose(s.betas, np.linspace(1e-3, 0.2, 100), rtol=4 * EPS, atol=0)


def _cosine_reference(T: int, s: float = 0.008) -> tuple[np.ndarray, np.ndarray]:
    """Nichol & Dhariwal 2021, Eq. 17: alpha_bar(t) = f(t)/f(0),
    f(t) = cos^2(((t/T) + s)/(1 + s) pi/2); beta_t = min(1 - ab_t/ab_{t-1}, 0.999)."""
    f = [math.cos(((t / T) + s) / (1 + s) * math.pi / 2) ** 2 for t in range(T + 1)]
    ab = np.array([f[t] / f[0] for t in range(T + 1)])
    betas = np.minimum(1.0 - ab[1:] / ab[:-1], 0.999)
    return betas, ab[1:]


@pytest.mark.parametrize("T", [2, 10, 1000])
def test_cosine_is_nichol_dhariwal(T: int) -> None:
    want_b, want_ab = _cosine_reference(T)
    s = Schedule.cosine(T, s=0.008)
    # math.cos vs np.cos, scalar vs vector: a few ulp in f; 1 - ratio amplifies that by
    # ab_t/beta_t <= 1/beta_1 ~ 2.5e4 at T = 1000 (beta_1 ~ 4e-5) -> 2.5e4 * 4 eps ~ 2e-11.
    rtol = 4 * EPS / want_b.min()
    np.testing.assert_allclose(s.betas, want_b, rtol=max(rtol, 1e-13), atol=0)
    # alpha_bar is re-accumulated from the clipped betas: equal to f(t)/f(0) wherever the
    # clip does not bite (all t < T here); t log-space roundings -> (t + 2) eps relative
    clipped = want_b >= 0.999
    assert clipped[-1] and not clipped[:-1].any()
    np.testing.assert_allclose(s.alpha_bar[:-1], want_ab[:-1], rtol=(T + 2) * 8 * EPS, atol=0)


def test_cosine_clip_changes_alpha_bar_only_at_the_end() -> None:
    s = Schedule.cosine(1000)
    assert s.betas[-1] == 0.999 and s.alpha_bar[-1] > 0


def test_quadratic_is_ho_et_al_code() -> None:
    T, b1, bT = 10, 1e-4, 0.02
    want = np.array(
        [(math.sqrt(b1) + (t - 1) / (T - 1) * (math.sqrt(bT) - math.sqrt(b1))) ** 2
         for t in range(1, T + 1)]
    )
    # squares of linspace vs the scalar formula: a few ulp (rtol 1e-14)
    np.testing.assert_allclose(Schedule.quadratic(T, b1, bT).betas, want, rtol=1e-14, atol=0)


def test_sigmoid_is_chen_2023() -> None:
    T, start, end, tau = 20, -3.0, 3.0, 1.0

    def sig(z: float) -> float:
        return 1.0 / (1.0 + math.exp(-z))

    def ab(u: float) -> float:
        return (sig(end / tau) - sig((u * (end - start) + start) / tau)) / (
            sig(end / tau) - sig(start / tau))

    want = np.array([min(1 - ab(t / T) / ab((t - 1) / T), 0.999) for t in range(1, T + 1)])
    # same formula, scalar math vs numpy: a few ulp in ab, amplified by 1/beta_1 ~ 30 at most
    np.testing.assert_allclose(Schedule.sigmoid(T, start, end, tau).betas, want, rtol=1e-13)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("T", [1, 2, 1000])
def test_every_registered_schedule_builds(name: str, T: int) -> None:
    s = get_schedule(name, T)
    assert s.T == T and s.name == name
    assert np.all(np.diff(s.alpha_bar) < 0) and np.all((s.betas > 0) & (s.betas <= 1))
    assert s.spec() == {"name": name, "params": s.params, "T": T}


def test_get_schedule_unknown_lists_names() -> None:
    with pytest.raises(ValueError, match="known schedules: cosine, linear, quadratic, sigmoid"):
        get_schedule("cosin", 10)


# -- from data ---------------------------------------------------------------------------
def test_from_betas_and_from_alpha_bar_round_trip() -> None:
    b = Schedule.cosine(50).betas
    s = Schedule.from_betas(b)
    np.testing.assert_array_equal(s.betas, b)  # stored as given
    back = Schedule.from_alpha_bar(s.alpha_bar)
    # beta = 1 - ab_t/ab_{t-1}: one ratio rounding amplified by ab_t/beta_t <= 1/beta_min
    np.testing.assert_allclose(back.betas, b, rtol=16 * EPS / b.min(), atol=0)
    assert Schedule.from_alpha_bar([0.9, 0.5, 0.0]).zero_terminal_snr


def test_from_alpha_bar_validation() -> None:
    with pytest.raises(ScheduleError, match=r"index 1 \(t = 2\)"):
        Schedule.from_alpha_bar([0.9, 0.95])
    with pytest.raises(ScheduleError, match="in \\[0, 1\\]"):
        Schedule.from_alpha_bar([0.9, -0.1])
    with pytest.raises(ScheduleError, match="in \\[0, 1\\]"):
        Schedule.from_alpha_bar([0.9, float("nan")])


# -- zero terminal SNR (Lin et al. 2024, Algorithm 1) ---------------------------------------
@pytest.mark.parametrize("base", [Schedule.linear(1000), Schedule.cosine(100), Schedule.linear(3)])
def test_rescale_zero_terminal_snr(base: Schedule) -> None:
    z = base.rescale_zero_terminal_snr()
    r, r_new = np.sqrt(base.alpha_bar), np.sqrt(z.alpha_bar)
    assert r_new[-1] == 0.0 and z.alpha_bar[-1] == 0.0 and z.betas[-1] == 1.0
    assert z.zero_terminal_snr and not base.zero_terminal_snr and z.snr[-1] == 0.0
    # sqrt(alpha_bar_1) kept: shift-and-scale then square then re-accumulate via log1p:
    # a handful of roundings (8 eps)
    assert abs(r_new[0] - r[0]) <= 8 * EPS
    # Algorithm 1 written out: affine in sqrt(alpha_bar); T roundings in the accumulation
    want = (r - r[-1]) * r[0] / (r[0] - r[-1])
    np.testing.assert_allclose(r_new, want, rtol=(base.T + 4) * 4 * EPS, atol=4 * EPS)
    assert np.all(np.diff(z.alpha_bar) < 0)


# -- index convention and derived arrays ---------------------------------------------------------
def test_index_convention() -> None:
    s = Schedule.linear(1000)
    assert s.betas[0] == 1e-4 and s.betas[-1] == 0.02  # index i <-> paper t = i + 1
    assert s.alpha_bar_prev[0] == 1.0 and s.one_minus_alpha_bar_prev[0] == 0.0
    np.testing.assert_array_equal(s.alpha_bar_prev[1:], s.alpha_bar[:-1])
    assert s.beta_tilde[0] == 0.0  # beta_tilde_1 = 0 exactly
    # 1 - alpha_bar_1 = beta_1 to working precision, as the log-space accumulation promises
    assert abs(s.one_minus_alpha_bar[0] - 1e-4) <= 2 * EPS * 1e-4
    np.testing.assert_allclose(s.snr, s.alpha_bar / s.one_minus_alpha_bar, rtol=2 * EPS)
    np.testing.assert_allclose(s.log_snr, np.log(s.snr), rtol=0, atol=8 * EPS * 10)
    bt = (1 - s.alpha_bar[:-1]) / (1 - s.alpha_bar[1:]) * s.betas[1:]  # Eq. 7, t >= 2
    # naive 1 - alpha_bar loses eps / beta_1 ~ 2e-12 relative at small t
    np.testing.assert_allclose(s.beta_tilde[1:], bt, rtol=1e-11)
    for name in ("betas", "alpha_bar", "beta_tilde", "snr"):
        a = getattr(s, name)
        assert a.dtype == np.float64 and a.shape == (1000,) and not a.flags.writeable


def _mp_reference(betas: np.ndarray) -> tuple[list, list]:
    """alpha_bar_t and 1 - alpha_bar_t at 50 digits from the float64 betas (exact inputs)."""
    with mpmath.workdps(50):
        ab, out_ab, out_om = mpmath.mpf(1), [], []
        for b in betas:
            ab *= 1 - mpmath.mpf(float(b))
            out_ab.append(ab)
            out_om.append(1 - ab)
    return out_ab, out_om


@given(betas=schedules(max_steps=32))
@example(betas=EDGE_SCHEDULES["constant_near_zero"])
@example(betas=EDGE_SCHEDULES["single_step_tiny"])
@example(betas=EDGE_SCHEDULES["constant_near_one"])
@example(betas=EDGE_SCHEDULES["zero_terminal_snr_T10"])
def test_derived_arrays_against_50_digits(betas: np.ndarray) -> None:
    """S1 against mpmath. Error argument: log alpha_bar_t = sum of t log1p terms of one
    sign, relative error <= (t + 1) eps; then 1 - alpha_bar = -expm1(L) has relative error
    <= (t + 2) eps (its condition number w.r.t. L, |L| e^L / (1 - e^L), is <= 1), and
    alpha_bar = e^L has relative error <= (t + 1) eps |L| + eps (condition |L|)."""
    s = Schedule.from_betas(betas)
    ab, om = _mp_reference(betas)
    for i in range(s.T):
        t = i + 1
        if ab[i] == 0:  # alpha_bar_T = 0 exactly (beta_T = 1)
            assert s.alpha_bar[i] == 0.0 and s.one_minus_alpha_bar[i] == 1.0
            continue
        L = abs(float(mpmath.log(ab[i])))
        assert abs(s.one_minus_alpha_bar[i] - om[i]) <= 2 * (t + 2) * EPS * om[i]
        assert abs(s.alpha_bar[i] - ab[i]) <= 2 * ((t + 1) * EPS * L + EPS) * ab[i]


def test_planted_naive_one_minus_alpha_bar_fails_the_50_digit_check() -> None:
    """The check above can fail: 1 - cumprod(1 - beta) at beta = 1e-8 is off by ~1e-9
    relative, 1e6 times the (t + 2) eps bound."""
    betas = EDGE_SCHEDULES["constant_near_zero"]
    _, om = _mp_reference(betas)
    naive = 1.0 - np.cumprod(1.0 - betas)
    t = 4
    assert abs(naive[t - 1] - om[t - 1]) > 2 * (t + 2) * EPS * om[t - 1]


# -- validation --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "betas, pattern",
    [
        ([0.1, 0.0, 0.2], r"\(0, 1\].*got 0.0 at index 1"),
        ([0.1, 1.5], r"got 1.5 at index 1"),
        ([0.1, -0.2], r"at index 1"),
        ([0.1, float("nan")], r"got nan at index 1"),
        ([0.1, float("inf")], r"at index 1"),
        ([1.0, 0.5], r"beta_t = 1 is allowed only at the last step.*index 0 \(t = 1\)"),
        ([1e-20, 1e-20], r"alpha_bar must decrease strictly.*index 1, t = 2"),
        ([], "non-empty 1-D"),
        ([[0.1]], "non-empty 1-D"),
    ],
)
def test_schedule_validation_names_the_index(betas: list, pattern: str) -> None:
    with pytest.raises(ScheduleError, match=pattern):
        Schedule.from_betas(betas)


@pytest.mark.parametrize("T", [0, -3, 1.5, True, "10"])
@pytest.mark.parametrize("make", [Schedule.linear, Schedule.cosine, Schedule.quadratic,
                                  Schedule.sigmoid])
def test_T_below_one_or_not_an_integer(T: object, make) -> None:
    with pytest.raises(ValueError, match="integer >= 1"):
        make(T)


def test_bad_named_schedule_parameters() -> None:
    with pytest.raises(ValueError, match="positive"):
        Schedule.cosine(10, s=0.0)
    with pytest.raises(ValueError, match="end > start"):
        Schedule.sigmoid(10, start=1.0, end=0.0)


def test_schedule_error_is_a_value_error() -> None:
    assert issubclass(ScheduleError, ValueError)

