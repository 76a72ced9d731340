"""Respacing: the K-step sub-chain of a T-step schedule (Nichol & Dhariwal 2021, Sec. 4).

Given kept timesteps 1 ≤ τ_1 < … < τ_K = T (paper convention), the sub-chain
has the same marginals q(x_{τ_i} | x_0) = N(√ᾱ_{τ_i} x_0, (1 − ᾱ_{τ_i}) I) as the
parent chain when its variances are

    β'_i = 1 − ᾱ_{τ_i} / ᾱ_{τ_{i−1}},   ᾱ_{τ_0} = 1

(Nichol & Dhariwal 2021, Sec. 4, "Improving Sampling Speed"). Then
∏_{j≤i}(1 − β'_j) = ᾱ_{τ_i}, so a model trained on the T-step chain, queried at
parent timestep τ_i, serves as the i-th step of the K-step chain.

The kept timesteps are K evenly spaced real numbers between 1 and T inclusive,
rounded to the nearest integer (half to even) (Nichol & Dhariwal 2021, Sec. 4);
for K = 1 the single kept step is τ_1 = T, so that the sub-chain ends where the
parent does and its prior term is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .schedule import ScheduleError

if TYPE_CHECKING:
    from .schedule import Schedule

__all__ = ["Respacing", "respace", "respaced_timesteps"]


@dataclass(frozen=True, eq=False)
class Respacing:
    """A K-step sub-chain of a T-step schedule.

    ``schedule`` is the K-step :class:`~ddpm_theory.backend.schedule.Schedule`
    (its array index i holds sub-chain step i + 1); ``timesteps[i]`` is the
    parent's paper timestep τ_{i+1} ∈ {1, …, T} that sub-chain step i + 1 stands
    for — the timestep to pass to a model trained on the parent chain.
    """

    schedule: Schedule
    timesteps: np.ndarray
    parent_T: int

    @property
    def K(self) -> int:
        """Number of steps of the sub-chain."""
        return int(self.timesteps.size)


def _check_K(K: object, T: int) -> int:
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)):
        raise TypeError(
            f"K (the number of steps to keep) must be an integer; got {K!r} "
            f"of type {type(K).__name__}."
        )
    if not 1 <= K <= T:
        raise ValueError(
            f"K (the number of steps to keep) must satisfy 1 <= K <= T = {T}; got K = {K}. "
            f"Pick K between 1 and the schedule's number of steps."
        )
    return int(K)


def respaced_timesteps(T: int, K: int) -> np.ndarray:
    """The kept paper timesteps τ_1 < … < τ_K = T (read-only int64 array).

    K evenly spaced reals in [1, T], rounded half to even; distinct because the
    spacing (T − 1)/(K − 1) is at least 1 when K ≤ T. K = 1 keeps τ_1 = T.
    """
    K = _check_K(K, T)
    if K == 1:
        tau = np.array([T], dtype=np.int64)
    else:
        tau = np.round(np.linspace(1.0, float(T), K)).astype(np.int64)
    tau.setflags(write=False)
    return tau


def _check_representable(betas: np.ndarray, log_ab: np.ndarray, tau: np.ndarray) -> None:
    """β'_i = 1 in float64 while ᾱ_{τ_i} > 0 would silently make the sub-chain end at
    zero SNR (or break it mid-chain); refuse instead."""
    bad = np.flatnonzero((betas == 1.0) & np.isfinite(log_ab))
    if bad.size:
        i = int(bad[0])
        log_ratio = float(np.diff(log_ab, prepend=0.0)[i])
        raise ScheduleError(
            f"respacing rounds beta'_{i + 1} (kept timestep {int(tau[i])}) to 1: the ratio "
            f"alpha_bar_{int(tau[i])} / alpha_bar_prev = exp({log_ratio:.4g}) "
            f"is below float64 resolution. Keep more steps (a larger K)."
        )


def respace(schedule: Schedule, K: int) -> Respacing:
    """The K-step sub-chain of ``schedule`` with β'_i = 1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}}.

    Raises
    ------
    TypeError
        If K is not an integer.
    ValueError
        If K is outside 1..T.
    ScheduleError
        If some β'_i rounds to 1 in float64 although ᾱ_{τ_i} > 0 (two kept steps
        so far apart that their ᾱ ratio is below float64 resolution).
    """
    from .schedule import Schedule

    tau = respaced_timesteps(schedule.T, K)
    # β'_i = 1 − exp(log ᾱ_{τ_i} − log ᾱ_{τ_{i−1}}), in log space so that a small β'
    # keeps its digits; log ᾱ_T = −inf (zero terminal SNR) gives β'_K = 1 exactly
    log_ab = schedule.log_alpha_bar[tau - 1]
    with np.errstate(invalid="ignore"):
        betas = -np.expm1(np.diff(log_ab, prepend=0.0))
    _check_representable(betas, log_ab, tau)
    params = {"base": schedule.name, "base_params": dict(schedule.params), "base_T": schedule.T}
    sub = Schedule(betas, "respaced", params)
    return Respacing(schedule=sub, timesteps=tau, parent_T=schedule.T)
