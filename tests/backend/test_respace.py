"""Respacing (Nichol & Dhariwal 2021, Sec. 4): the kept timesteps written out
independently, the sub-chain's marginals equal to the parent's at the kept steps,
the edge cases K = 1 and K = T, zero terminal SNR, and errors for bad K."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ddpm_theory.backend.respace import respace, respaced_timesteps
from ddpm_theory.backend.schedule import Schedule, ScheduleError
from ddpm_theory.testing.strategies import schedules

EPS = np.finfo(np.float64).eps


def _evenly_spaced_reference(T: int, K: int) -> list[int]:
    """K evenly spaced reals between 1 and T inclusive, each rounded to the nearest
    integer (Nichol & Dhariwal 2021, Sec. 4); Python's round() is half to even."""
    if K == 1:
        return [T]
    return [round(1 + i * (T - 1) / (K - 1)) for i in range(K)]


@pytest.mark.parametrize(("T", "K"), [(1000, 10), (1000, 50), (1000, 100), (1000, 999),
                                      (4000, 250), (10, 3), (2, 2), (7, 1)])
def test_timesteps_are_evenly_spaced_and_rounded(T: int, K: int) -> None:
    tau = respaced_timesteps(T, K)
    assert tau.tolist() == _evenly_spaced_reference(T, K)
    assert tau[-1] == T and np.all(np.diff(tau) >= 1)
    assert not tau.flags.writeable


def test_known_timesteps() -> None:
    # written out by hand: 1 + i * 999/3 = 1, 334, 667, 1000
    assert Schedule.linear(1000).respace(4).timesteps.tolist() == [1, 334, 667, 1000]


def _check_marginals(parent: Schedule, sub: Schedule, tau: np.ndarray) -> None:
    """The sub-chain's ᾱ'_i = ∏_{j≤i}(1 − β'_j) must equal the parent's ᾱ_{τ_i}.
    Both are accumulated as sums of log1p terms; 8 ulp per step of the longer
    chain bounds the rounding, relative to ᾱ and, where β' is within an ulp of 1
    and ᾱ' keeps only absolute precision, absolute."""
    tol = 8 * EPS * parent.T
    np.testing.assert_allclose(sub.alpha_bar, parent.alpha_bar[tau - 1], rtol=tol, atol=tol)


@given(betas=schedules(max_steps=60), data=st.data())
def test_sub_chain_has_the_parent_marginals(betas: np.ndarray, data: st.DataObject) -> None:
    parent = Schedule.from_betas(betas)
    K = data.draw(st.integers(1, parent.T))
    try:
        r = parent.respace(K)
    except ScheduleError:
        # refused only where a kept ᾱ ratio is below float64 resolution (β' rounds to 1)
        log_ab = parent.log_alpha_bar[respaced_timesteps(parent.T, K) - 1]
        assert np.min(np.diff(log_ab, prepend=0.0)) < np.log(EPS)
        return
    assert r.K == K and r.schedule.T == K and r.parent_T == parent.T
    _check_marginals(parent, r.schedule, r.timesteps)


def test_planted_naive_subsampling_of_betas_fails_the_marginal_check() -> None:
    # the plausible slip β'_i = β_{τ_i} (keeping the parent's betas) loses the
    # variance of the skipped steps: the marginal check must reject it
    parent = Schedule.linear(1000)
    tau = respaced_timesteps(1000, 10)
    naive = Schedule.from_betas(parent.betas[tau - 1])
    with pytest.raises(AssertionError):
        _check_marginals(parent, naive, tau)


def test_K_equal_T_is_the_parent() -> None:
    parent = Schedule.cosine(200)
    r = parent.respace(200)
    assert r.timesteps.tolist() == list(range(1, 201))
    np.testing.assert_allclose(r.schedule.betas, parent.betas, rtol=64 * EPS, atol=0)


def test_K_one_keeps_the_last_step() -> None:
    parent = Schedule.linear(1000)
    r = parent.respace(1)
    assert r.timesteps.tolist() == [1000]
    np.testing.assert_allclose(r.schedule.betas, [1.0 - parent.alpha_bar[-1]], rtol=4 * EPS)


def test_zero_terminal_snr_survives_respacing() -> None:
    parent = Schedule.linear(1000).rescale_zero_terminal_snr()
    r = parent.respace(10)
    assert r.schedule.zero_terminal_snr and r.schedule.betas[-1] == 1.0


def test_respace_function_and_method_agree() -> None:
    parent = Schedule.sigmoid(300)
    a, b = respace(parent, 30), parent.respace(30)
    np.testing.assert_array_equal(a.schedule.betas, b.schedule.betas)
    np.testing.assert_array_equal(a.timesteps, b.timesteps)
    assert b.schedule.params["base"] == "sigmoid" and b.schedule.params["base_T"] == 300


@pytest.mark.parametrize("K", [0, -3, 1001])
def test_K_out_of_range(K: int) -> None:
    with pytest.raises(ValueError, match=r"1 <= K <= T = 1000; got K = -?\d+"):
        Schedule.linear(1000).respace(K)


@pytest.mark.parametrize("K", [2.5, 10.0, True, "10", None])
def test_K_not_an_integer(K: object) -> None:
    with pytest.raises(TypeError, match="must be an integer"):
        Schedule.linear(1000).respace(K)  # type: ignore[arg-type]


def test_beta_prime_rounding_to_one_is_refused() -> None:
    # eight steps of beta = 0.999 give alpha_bar_8 = 1e-24 > 0, but keeping only t = 8
    # makes beta'_1 = 1 - 1e-24, which is 1 in float64: refuse, do not end at zero SNR
    with pytest.raises(ScheduleError, match=r"beta'_1 \(kept timestep 8\) to 1.*larger K"):
        Schedule.from_betas([0.999] * 8).respace(1)
