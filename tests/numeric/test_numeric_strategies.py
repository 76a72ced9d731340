"""The Hypothesis strategies stay inside the declared domains and produce the
schedule families they claim (tests/strategies.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ddpm_theory import domains
from ddpm_theory.testing.strategies import (
    EDGE_SCHEDULES,
    ScheduleKind,
    dimensions,
    floats_in,
    means,
    schedule,
    schedule_and_t,
    schedules,
    variances,
)


def _check_schedule(betas: np.ndarray) -> None:
    assert betas.dtype == np.float64 and betas.ndim == 1 and betas.size >= 1
    assert np.all(domains.BETA.contains(betas))
    assert np.all(np.diff(betas) >= 0.0)
    alpha_bar = np.cumprod(1.0 - betas)
    assert np.all(np.diff(alpha_bar) <= 0.0)


@given(betas=schedules())
def test_schedules_lie_in_the_beta_domain(betas: np.ndarray) -> None:
    _check_schedule(betas)


@pytest.mark.parametrize("name", sorted(EDGE_SCHEDULES))
def test_edge_schedules_lie_in_the_beta_domain(name: str) -> None:
    _check_schedule(EDGE_SCHEDULES[name])


@given(pair=schedule_and_t(max_steps=20))
def test_timesteps_in_range(pair: tuple[np.ndarray, int]) -> None:
    betas, t = pair
    assert 1 <= t <= len(betas)


@pytest.mark.parametrize("n_steps", [1, 2, 10, 1000])
def test_named_schedules(n_steps: int) -> None:
    lin = schedule(ScheduleKind.LINEAR, n_steps)
    assert lin[0] == 1e-4 and (n_steps == 1 or lin[-1] == pytest.approx(0.02, rel=1e-15))
    cos = schedule(ScheduleKind.COSINE, n_steps)
    # Nichol & Dhariwal 2021, Eq. 17: alpha_bar_t = f(t) / f(0) wherever beta < 0.999.
    s = 0.008
    f = np.cos((np.arange(n_steps + 1) / n_steps + s) / (1 + s) * math.pi / 2) ** 2
    ab = np.cumprod(1.0 - cos)
    unclipped = np.cumprod(cos < 0.999).astype(bool)
    np.testing.assert_allclose(ab[unclipped], (f[1:] / f[0])[unclipped], rtol=1e-12)
    zt = schedule(ScheduleKind.ZERO_TERMINAL_SNR, n_steps)
    assert zt[-1] == 1.0 and np.prod(1.0 - zt) == 0.0  # Lin et al. 2024: SNR(T) = 0
    if n_steps > 1:
        # Algorithm 1 keeps sqrt(alpha_bar_1) of the base (linear) schedule.
        assert math.sqrt(1 - zt[0]) == pytest.approx(math.sqrt(1 - lin[0]), rel=1e-12)


@given(kind=st.sampled_from([ScheduleKind.NEAR_ZERO, ScheduleKind.NEAR_ONE]), data=st.data())
def test_extreme_kinds_are_extreme(kind: ScheduleKind, data: st.DataObject) -> None:
    betas = data.draw(schedules(kinds=(kind,)))
    if kind is ScheduleKind.NEAR_ZERO:
        assert np.all(betas <= 1e-7)
    else:
        assert np.all(betas >= 0.99) and np.all(betas < 1.0)


@given(d=dimensions(), data=st.data())
def test_vectors_lie_in_their_domains(d: int, data: st.DataObject) -> None:
    assert 1 <= d <= 4
    m = data.draw(means(d))
    v = data.draw(variances(d))
    assert m.shape == v.shape == (d,)
    assert np.all(domains.REAL.contains(m)) and np.all(domains.VARIANCE.contains(v))
    assert np.all((v >= 1e-3) & (v <= 1e3))


def test_ranges_outside_a_domain_are_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        floats_in(domains.BETA, 0.5, 1.5)
    with pytest.raises(ValueError, match="outside"):
        variances(2, lo=-1.0)
    with pytest.raises(ValueError, match="random"):
        schedule(ScheduleKind.RANDOM, 3)
