"""Every schedule family pinned against its paper, with the library's DEFAULT arguments.

The older schedule tests pass the published constants explicitly, so a wrong default
(β_T = 0.2, s = 0.08, no clip, a T/1000 rescale) slipped through them. Here each
constructor is called the way a user calls it, ``Schedule.linear(T)``, and the expected
β_1..β_T are computed in plain Python from the paper's formula with the paper's
constants written out in this file, never from a library function or default.

Each test's docstring names the error it catches and, after "fails when", the
plant that was put into the library to see it fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ddpm_theory.backend.schedule import SCHEDULES, T_REFERENCE, Schedule, get_schedule

EPS = np.finfo(np.float64).eps

# the published constants, written out once
HO_BETA_1, HO_BETA_T, HO_T = 1e-4, 0.02, 1000  # Ho et al. 2020, Sec. 4
COSINE_S, COSINE_MAX_BETA = 0.008, 0.999  # Nichol & Dhariwal 2021, Eq. 17 and below it
SIGMOID_START, SIGMOID_END, SIGMOID_TAU = -3.0, 3.0, 1.0  # Chen 2023, Algorithm 1

TS = [2, 10, 250, 1000, 4000]


def _linear_ref(T: int, b1: float, bT: float) -> list[float]:
    """β_t = β_1 + (t − 1)/(T − 1) (β_T − β_1), t = 1..T (β_1 alone when T = 1)."""
    if T == 1:
        return [b1]
    return [b1 + (t - 1) / (T - 1) * (bT - b1) for t in range(1, T + 1)]


def _quadratic_ref(T: int, b1: float, bT: float) -> list[float]:
    """√β_t linear in t from √β_1 to √β_T (the "quad" schedule of Ho et al.'s code)."""
    return [(math.sqrt(b1) + (t - 1) / (T - 1) * (math.sqrt(bT) - math.sqrt(b1))) ** 2
            for t in range(1, T + 1)]


def _from_alpha_bar_fn(f, T: int, max_beta: float) -> list[float]:
    """β_t = min(1 − ᾱ(t/T)/ᾱ((t−1)/T), max_beta), ᾱ(u) = f(u)/f(0)."""
    ab = [f(t / T) / f(0.0) for t in range(T + 1)]
    return [min(1.0 - ab[t] / ab[t - 1], max_beta) for t in range(1, T + 1)]


def _cosine_ref(T: int) -> list[float]:
    """Nichol & Dhariwal 2021, Eq. 17: f(u) = cos²((u + s)/(1 + s) · π/2), s = 0.008,
    β clipped at 0.999."""
    def f(u: float) -> float:
        return math.cos((u + COSINE_S) / (1 + COSINE_S) * math.pi / 2) ** 2
    return _from_alpha_bar_fn(f, T, COSINE_MAX_BETA)


def _sigmoid_ref(T: int) -> list[float]:
    """Chen 2023, Algorithm 1 with start = −3, end = 3, τ = 1 (before its clip_min),
    clipped at 0.999 like the cosine schedule."""
    def sig(z: float) -> float:
        return 1.0 / (1.0 + math.exp(-z))

    def f(u: float) -> float:
        v = sig((u * (SIGMOID_END - SIGMOID_START) + SIGMOID_START) / SIGMOID_TAU)
        return (sig(SIGMOID_END / SIGMOID_TAU) - v) / (
            sig(SIGMOID_END / SIGMOID_TAU) - sig(SIGMOID_START / SIGMOID_TAU))
    return _from_alpha_bar_fn(f, T, COSINE_MAX_BETA)


def _ratio_rtol(want: np.ndarray) -> float:
    """1 − ᾱ_t/ᾱ_{t−1} amplifies a few ulp of ᾱ (scalar math vs vector numpy) by
    ᾱ_t/β_t ≤ 1/β_min: rtol 8 eps/β_min (≥ 1e-13)."""
    return max(8 * EPS / float(want.min()), 1e-13)


# -- linear, Ho et al. 2020 --------------------------------------------------------------------
@pytest.mark.parametrize("T", TS)
def test_linear_default_constants_are_ho_et_al(T: int) -> None:
    """``Schedule.linear(T)``: β linear from 1e-4 to 0.02 (Ho et al. 2020, Sec. 4), with no
    rescaling unless asked. Catches a wrong default end (β_T = 0.2 or 0.002), a default
    rescale, or an off-by-one grid (linspace over T + 1 points). Fails when the default
    ``beta_end`` is 0.2, when ``scale_to_T`` defaults to True (at T ≠ 1000)."""
    want = np.array(_linear_ref(T, HO_BETA_1, HO_BETA_T))
    got = Schedule.linear(T).betas
    # the same line evaluated two ways: a few ulp of β_T
    np.testing.assert_allclose(got, want, rtol=4 * EPS, atol=4 * EPS * HO_BETA_T)
    assert got[0] == HO_BETA_1 and abs(got[-1] - HO_BETA_T) <= 2 * EPS * HO_BETA_T


def test_linear_at_the_paper_T_ends_exactly_at_the_published_values() -> None:
    """At T = 1000 β_1 = 10⁻⁴ and β_T = 0.02 exactly, and the paper's ᾱ_T ≈ 4.04e-5
    (Ho et al. 2020, Sec. 4: "L_T ≈ 10⁻⁵ bits per dimension"); catches a wrong reference T
    of the 1000/T rescale (fails when T_REFERENCE = 100) or wrong default ends."""
    assert T_REFERENCE == HO_T
    s = Schedule.linear(HO_T)
    assert (s.betas[0], s.betas[-1]) == (HO_BETA_1, HO_BETA_T)
    ab_T = math.prod(1.0 - b for b in _linear_ref(HO_T, HO_BETA_1, HO_BETA_T))
    assert abs(s.alpha_bar[-1] / ab_T - 1) <= 1e-12 and 4.0e-5 < ab_T < 4.1e-5


@pytest.mark.parametrize("make, ref", [(Schedule.linear, _linear_ref),
                                       (Schedule.quadratic, _quadratic_ref)])
@pytest.mark.parametrize("T", [25, 50, 250, 2000])
def test_scale_to_T_is_1000_over_T(make, ref, T: int) -> None:
    """``scale_to_T=True`` multiplies BOTH ends by 1000/T (Nichol & Dhariwal 2021's released
    ``get_named_beta_schedule``), so a T-step chain ends near the paper's ᾱ_T. Catches the
    inverse factor T/1000, scaling one end only, or scaling √β instead of β for the quadratic.
    Fails when the scale is T/1000; when it is applied to ``beta_end`` only."""
    k = HO_T / T
    want = np.array(ref(T, HO_BETA_1 * k, HO_BETA_T * k))
    got = make(T, scale_to_T=True).betas
    np.testing.assert_allclose(got, want, rtol=8 * EPS, atol=0)
    if T >= 50:  # the point of the rescale: Σβ (≈ −log ᾱ_T) as at T = 1000 (≈ 10.05)
        assert abs(sum(want) / sum(ref(HO_T, HO_BETA_1, HO_BETA_T)) - 1) < 0.01 + 1 / T


# -- quadratic ----------------------------------------------------------------------------------
@pytest.mark.parametrize("T", TS)
def test_quadratic_default_constants(T: int) -> None:
    """``Schedule.quadratic(T)``: √β linear from √1e-4 to √0.02 (Ho et al.'s released code).
    Catches β linear instead of √β, or wrong default ends. Fails when the constructor
    takes √ of a linspace of β (so that β itself is linear)."""
    want = np.array(_quadratic_ref(T, HO_BETA_1, HO_BETA_T))
    got = Schedule.quadratic(T).betas
    np.testing.assert_allclose(got, want, rtol=8 * EPS, atol=0)
    assert abs(got[0] - HO_BETA_1) <= 4 * EPS * HO_BETA_1
    assert abs(got[-1] - HO_BETA_T) <= 4 * EPS * HO_BETA_T


# -- cosine, Nichol & Dhariwal 2021 -------------------------------------------------------------
@pytest.mark.parametrize("T", TS)
def test_cosine_default_s_and_clip_are_nichol_dhariwal(T: int) -> None:
    """``Schedule.cosine(T)``: s = 0.008 and β clipped at 0.999 (Nichol & Dhariwal 2021,
    Eq. 17 and the sentence below it). Catches a wrong offset (s = 0.08), a missing or
    different clip (0.9999), or a grid shifted by one step. Fails when the default s is
    0.08; when the default max_beta is 0.9999; when the grid u starts at 1/T. (Dropping the
    division by f(0) is an equivalent change: β_t = 1 − f(t/T)/f((t−1)/T) does not see it.)"""
    want = np.array(_cosine_ref(T))
    got = Schedule.cosine(T).betas
    np.testing.assert_allclose(got, want, rtol=_ratio_rtol(want), atol=0)
    assert got[-1] == COSINE_MAX_BETA  # the clip bites at t = T for every T here
    # without the clip the last β would be 1 (f(1) = cos²(π/2) = 0)
    assert 1.0 - math.cos(math.pi / 2) ** 2 / 1.0 > COSINE_MAX_BETA


def test_cosine_alpha_bar_is_f_over_f0_before_the_clip() -> None:
    """ᾱ_t = f(t/T)/f(0) for t < T (Eq. 17): catches ᾱ indexed at (t − 1)/T or (t + 1)/T
    (fails when the grid starts at u = 1/T)."""
    T = 100

    def f(u: float) -> float:
        return math.cos((u + COSINE_S) / (1 + COSINE_S) * math.pi / 2) ** 2

    want = np.array([f(t / T) / f(0.0) for t in range(1, T)])
    got = Schedule.cosine(T).alpha_bar[:-1]
    # ᾱ re-accumulated from the β through T log1p's: (T + 2) · 8 eps relative
    np.testing.assert_allclose(got, want, rtol=(T + 2) * 8 * EPS, atol=0)


# -- sigmoid, Chen 2023 --------------------------------------------------------------------------
@pytest.mark.parametrize("T", TS)
def test_sigmoid_default_constants_are_chen(T: int) -> None:
    """``Schedule.sigmoid(T)``: start = −3, end = 3, τ = 1 (Chen 2023, "On the Importance of
    Noise Scheduling for Diffusion Models", Algorithm 1, its defaults), β clipped at 0.999.
    Catches other defaults (a temperature τ = 0.5, start = 0). Fails when the default tau
    is 0.5; when the default start is 0."""
    want = np.array(_sigmoid_ref(T))
    got = Schedule.sigmoid(T).betas
    np.testing.assert_allclose(got, want, rtol=_ratio_rtol(want), atol=0)
    assert got[-1] == COSINE_MAX_BETA


# -- zero terminal SNR, Lin et al. 2024 ----------------------------------------------------------
def _zero_terminal_snr_ref(betas: list[float]) -> list[float]:
    """Lin et al. 2024, Algorithm 1, line by line: √ᾱ; shift so √ᾱ_T = 0; scale so √ᾱ_1 is
    kept; square; α_t = ᾱ_t/ᾱ_{t−1} (α_1 = ᾱ_1); β = 1 − α."""
    ab, acc = [], 1.0
    for b in betas:
        acc *= 1.0 - b
        ab.append(acc)
    r = [math.sqrt(a) for a in ab]
    r0, rT = r[0], r[-1]
    r = [(x - rT) * r0 / (r0 - rT) for x in r]
    ab = [x * x for x in r]
    alphas = [ab[0]] + [ab[t] / ab[t - 1] for t in range(1, len(ab))]
    return [1.0 - a for a in alphas]


@pytest.mark.parametrize("family, T", [("linear", 1000), ("linear", 50), ("cosine", 200),
                                       ("quadratic", 300), ("sigmoid", 100)])
def test_zero_terminal_snr_is_lin_et_al_algorithm_1(family: str, T: int) -> None:
    """Rescaling shifts and scales √ᾱ (not ᾱ), keeping √ᾱ_1 and making ᾱ_T = 0, β_T = 1
    (Lin et al. 2024, Algorithm 1). Catches rescaling ᾱ instead of √ᾱ, keeping ᾱ_T's
    scale instead of ᾱ_1's, or a terminal β that is only near 1. Fails when the rescale is
    applied to ᾱ (r = ᾱ); when ᾱ = r instead of r²."""
    base = get_schedule(family, T)
    want = np.array(_zero_terminal_snr_ref(_reference(family, T)))
    got = base.rescale_zero_terminal_snr().betas
    assert got[-1] == 1.0 and want[-1] == 1.0
    # ᾱ accumulated naively here vs in log space there (T roundings), amplified by the
    # ratio 1 − ᾱ_t/ᾱ_{t−1} ≥ β_min of the rescaled chain
    np.testing.assert_allclose(got[:-1], want[:-1], rtol=(T + 8) * 8 * EPS / want.min(), atol=0)


def _reference(family: str, T: int) -> list[float]:
    return {"linear": lambda: _linear_ref(T, HO_BETA_1, HO_BETA_T),
            "quadratic": lambda: _quadratic_ref(T, HO_BETA_1, HO_BETA_T),
            "cosine": lambda: _cosine_ref(T), "sigmoid": lambda: _sigmoid_ref(T)}[family]()


# -- the registry -------------------------------------------------------------------------------
def test_every_registered_family_is_pinned_here() -> None:
    """A schedule family added to the registry without a published-constant test here
    fails this test (fails when a family "cosine2" is registered)."""
    assert set(SCHEDULES) == {"linear", "cosine", "quadratic", "sigmoid"}


@pytest.mark.parametrize("family", ["linear", "cosine", "quadratic", "sigmoid"])
@pytest.mark.parametrize("T", [2, 1000])
def test_get_schedule_by_name_uses_the_published_defaults(family: str, T: int) -> None:
    """The CLI builds schedules by name, ``get_schedule(name, T)``; catches a registry entry
    bound to the wrong constructor or to other defaults (fails when "quadratic" maps to the
    linear constructor)."""
    want = np.array(_reference(family, T))
    got = get_schedule(family, T).betas
    np.testing.assert_allclose(got, want, rtol=_ratio_rtol(want), atol=0)


# -- the entry points' defaults --------------------------------------------------------------------
def _cli_schedule(*argv: str) -> Schedule:
    import argparse

    from ddpm_theory.cli.train import _schedule, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    return _schedule(parser.parse_args(["train", *argv]))


def test_default_training_schedule_is_ho_et_al() -> None:
    """``train()`` without a schedule and ``ddpm-theory train`` without flags use Ho et al.
    2020's linear β from 1e-4 to 0.02 at T = 1000 (Sec. 4). Catches another default family,
    T or ends at either entry point. Fails when default_schedule() is cosine(1000); when the
    CLI's default --T is 100."""
    from ddpm_theory.backend.train import default_schedule

    want = np.array(_linear_ref(HO_T, HO_BETA_1, HO_BETA_T))
    for got in (default_schedule(), _cli_schedule()):
        np.testing.assert_allclose(got.betas, want, rtol=4 * EPS, atol=4 * EPS * HO_BETA_T)


@pytest.mark.parametrize("argv, family, T, scaled", [
    (("--T", "250", "--scale-to-T"), "linear", 250, True),
    (("--schedule", "quadratic", "--T", "100", "--scale-to-T"), "quadratic", 100, True),
    (("--schedule", "cosine", "--T", "100"), "cosine", 100, False),
    (("--schedule", "sigmoid", "--T", "50"), "sigmoid", 50, False),
])
def test_cli_schedules_are_the_published_ones(argv: tuple[str, ...], family: str, T: int,
                                              scaled: bool) -> None:
    """``ddpm-theory train --schedule NAME --T T [--scale-to-T]`` builds the paper's schedule
    with the paper's constants (and 1000/T when asked). Fails when the CLI ignores
    --scale-to-T; when it maps --schedule cosine to another constructor."""
    k = HO_T / T if scaled else 1.0
    want = np.array({"linear": lambda: _linear_ref(T, HO_BETA_1 * k, HO_BETA_T * k),
                     "quadratic": lambda: _quadratic_ref(T, HO_BETA_1 * k, HO_BETA_T * k),
                     "cosine": lambda: _cosine_ref(T),
                     "sigmoid": lambda: _sigmoid_ref(T)}[family]())
    np.testing.assert_allclose(_cli_schedule(*argv).betas, want, rtol=_ratio_rtol(want), atol=0)
