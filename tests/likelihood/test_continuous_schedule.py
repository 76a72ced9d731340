"""The continuous interpolation of a discrete schedule: exact at the integer nodes,
monotone (β(s) ≥ 0), its derivatives consistent with finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from ddpm_theory.backend.schedule import SCHEDULES, Schedule
from ddpm_theory.likelihood import ContinuousSchedule


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_nodes_are_the_discrete_schedule(name: str) -> None:
    s = SCHEDULES[name](1000)
    c = ContinuousSchedule(s)
    t = np.arange(1, 1001, dtype=np.float64)
    # the interpolant passes through its nodes up to the rounding of the cubic's evaluation
    np.testing.assert_allclose(c.alpha_bar(t), s.alpha_bar, rtol=1e-12, atol=0)
    assert float(c.alpha_bar(0.0)) == 1.0 and float(c.one_minus_alpha_bar(0.0)) == 0.0


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_beta_is_non_negative_and_the_log_derivative(name: str) -> None:
    c = ContinuousSchedule(SCHEDULES[name](200))
    s = np.linspace(0.0, 200.0, 4001)
    assert np.all(c.beta(s) >= 0)
    mid, h = np.linspace(0.3, 199.7, 97), 1e-5
    fd = -(c.log_alpha_bar(mid + h) - c.log_alpha_bar(mid - h)) / (2 * h)
    # central difference of a C1 piecewise cubic away from the nodes: O(h^2) + rounding
    np.testing.assert_allclose(c.beta(mid), fd, rtol=1e-5, atol=1e-9)
    fd_snr = (c.snr(mid + h) - c.snr(mid - h)) / (2 * h)
    np.testing.assert_allclose(c.snr_derivative(mid), fd_snr, rtol=1e-4)


def test_refusals() -> None:
    c = ContinuousSchedule(Schedule.linear(10))
    with pytest.raises(ValueError, match=r"in \[0, T = 10\]"):
        c.alpha_bar(10.5)
    with pytest.raises(ValueError, match="zero terminal SNR"):
        ContinuousSchedule(Schedule.linear(10).rescale_zero_terminal_snr())
