"""The continuous interpolation of a discrete schedule, and the quantities the
probability-flow ODE and the continuous-time bound read from it.

Time is the paper's timestep made continuous, s ∈ [0, T]. The interpolant is the
monotone cubic (PCHIP; Fritsch & Carlson 1980, SIAM J. Numer. Anal. 17:238) of
log ᾱ through the nodes (s, log ᾱ_s), s = 0..T, with log ᾱ_0 = 0:

* ᾱ(t) = ᾱ_t exactly at every integer t (so a model trained at integer t is
  queried where it was trained whenever s is an integer);
* log ᾱ is C¹ and non-increasing (PCHIP preserves the monotonicity of the data),
  so β(s) = −d log ᾱ/ds ≥ 0 is continuous: the variance-preserving SDE
  dx = −½β(s) x ds + √β(s) dw (Song et al. 2021, Eq. 11) has the marginals
  x_s = √ᾱ(s) x_0 + √(1 − ᾱ(s)) ε at every s.

The schedule must end above zero SNR (ᾱ_T > 0): the ODE starts from N(0, I) at T
and needs ε̂/√(1 − ᾱ) finite.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import PchipInterpolator

from ..backend.schedule import Schedule

__all__ = ["ContinuousSchedule"]


@dataclass(frozen=True, eq=False)
class ContinuousSchedule:
    """ᾱ(s), β(s) = −d log ᾱ/ds and SNR(s) on s ∈ [0, T] (module docstring)."""

    schedule: Schedule
    _log_ab: PchipInterpolator = field(init=False, repr=False)
    _dlog_ab: PchipInterpolator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        s = self.schedule
        if s.zero_terminal_snr:
            raise ValueError(
                "the continuous interpolation needs alpha_bar_T > 0 (the ODE starts from "
                "N(0, I) at T with eps/sqrt(1 - alpha_bar) finite); this schedule has zero "
                "terminal SNR."
            )
        nodes = np.arange(s.T + 1, dtype=np.float64)
        values = np.concatenate([[0.0], s.log_alpha_bar])
        f = PchipInterpolator(nodes, values, extrapolate=False)
        object.__setattr__(self, "_log_ab", f)
        object.__setattr__(self, "_dlog_ab", f.derivative())

    @property
    def T(self) -> float:
        """The end of the time interval (the number of discrete steps)."""
        return float(self.schedule.T)

    def _check(self, s: np.ndarray) -> np.ndarray:
        s = np.asarray(s, dtype=np.float64)
        if np.any(~np.isfinite(s)) or np.any(s < 0) or np.any(s > self.T):
            raise ValueError(f"continuous time must lie in [0, T = {self.T:g}]; got {s!r}.")
        return s

    def log_alpha_bar(self, s: float | np.ndarray) -> np.ndarray:
        """log ᾱ(s)."""
        return np.asarray(self._log_ab(self._check(np.asarray(s))))

    def alpha_bar(self, s: float | np.ndarray) -> np.ndarray:
        """ᾱ(s)."""
        return np.exp(self.log_alpha_bar(s))

    def one_minus_alpha_bar(self, s: float | np.ndarray) -> np.ndarray:
        """1 − ᾱ(s), as −expm1(log ᾱ(s)) (no cancellation near s = 0)."""
        return -np.expm1(self.log_alpha_bar(s))

    def beta(self, s: float | np.ndarray) -> np.ndarray:
        """β(s) = −d log ᾱ(s)/ds ≥ 0, the VP-SDE's rate (Song et al. 2021, Eq. 11)."""
        return -np.asarray(self._dlog_ab(self._check(np.asarray(s))))

    def snr(self, s: float | np.ndarray) -> np.ndarray:
        """SNR(s) = ᾱ(s)/(1 − ᾱ(s)) (Kingma et al. 2021, Eq. 2)."""
        return self.alpha_bar(s) / self.one_minus_alpha_bar(s)

    def snr_derivative(self, s: float | np.ndarray) -> np.ndarray:
        """dSNR/ds = −β(s) SNR(s)/(1 − ᾱ(s)) ≤ 0 (d log SNR/ds = d log ᾱ/ds ·
        (1 + SNR) by the chain rule, log SNR = log ᾱ − log(1 − ᾱ))."""
        return -self.beta(s) * self.snr(s) / self.one_minus_alpha_bar(s)
