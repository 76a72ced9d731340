"""The noise schedules of a diffusers ``DDPMScheduler``, rebuilt in float64.

diffusers computes its betas in float32 from a configuration
(``num_train_timesteps``, ``beta_start``, ``beta_end``, ``beta_schedule``,
``trained_betas``, ``rescale_betas_zero_snr``). This module maps each
``beta_schedule`` name explicitly to this library's float64
:class:`~ddpm_theory.backend.schedule.Schedule`, so an audit uses the schedule
the configuration *means*, and the parity tests compare it with the float32
arrays diffusers holds. An unknown name is refused, never guessed.

Timestep convention: diffusers indexes its arrays by t_d = 0..T−1; this library
by the paper timestep t = t_d + 1 (``schedule.betas[t − 1]``). Both store β_t at
array index t − 1, so the arrays line up element for element; only the model
call shifts (:data:`TIMESTEP_OFFSET`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..backend.schedule import Schedule

__all__ = ["BETA_SCHEDULES", "TIMESTEP_OFFSET", "schedule_from_config", "AdapterError"]

#: paper timestep t = diffusers timestep + TIMESTEP_OFFSET
TIMESTEP_OFFSET = 1


class AdapterError(ValueError):
    """A diffusers model or setting that this library cannot audit (the setting is named)."""


def _alpha_bar_betas(f: Callable[[float], float], T: int, max_beta: float = 0.999) -> np.ndarray:
    """β_t = min(1 − ᾱ(t/T)/ᾱ((t−1)/T), max_beta), t = 1..T, in float64."""
    u = np.arange(T + 1, dtype=np.float64) / T
    ab = np.array([f(float(v)) for v in u])
    return np.minimum(1.0 - ab[1:] / ab[:-1], max_beta)


def _laplace_alpha_bar(u: float) -> float:
    """√(SNR/(1 + SNR)) with log-SNR λ = −½ sgn(½ − u) log(1 − 2|½ − u| + 10⁻⁶) (the
    Laplace noise schedule of Hang & Gu 2024, "Improved Noise Schedule for Diffusion
    Training", as diffusers writes it)."""
    lam = -0.5 * math.copysign(1.0, 0.5 - u) * math.log(1.0 - 2.0 * abs(0.5 - u) + 1e-6)
    snr = math.exp(lam)
    return math.sqrt(snr / (1.0 + snr))


def _linear(T: int, cfg: dict[str, Any]) -> Schedule:
    return Schedule.linear(T, float(cfg["beta_start"]), float(cfg["beta_end"]))


def _scaled_linear(T: int, cfg: dict[str, Any]) -> Schedule:
    # √β linear in t: this library's "quadratic" schedule (Ho et al.'s released code)
    return Schedule.quadratic(T, float(cfg["beta_start"]), float(cfg["beta_end"]))


def _squaredcos_cap_v2(T: int, cfg: dict[str, Any]) -> Schedule:
    # ᾱ(u) = cos²((u + 0.008)/1.008 · π/2), β ≤ 0.999 (Nichol & Dhariwal 2021, Eq. 17)
    return Schedule.cosine(T, s=0.008, max_beta=0.999)


def _sigmoid(T: int, cfg: dict[str, Any]) -> Schedule:
    # β_t = σ(z_t)(β_end − β_start) + β_start, z linear from −6 to 6 (GeoDiff, Xu et al. 2022)
    z = np.linspace(-6.0, 6.0, T, dtype=np.float64)
    lo, hi = float(cfg["beta_start"]), float(cfg["beta_end"])
    betas = 1.0 / (1.0 + np.exp(-z)) * (hi - lo) + lo
    return Schedule(betas, "diffusers_sigmoid", {"beta_start": lo, "beta_end": hi})


def _laplace(T: int, cfg: dict[str, Any]) -> Schedule:
    return Schedule(_alpha_bar_betas(_laplace_alpha_bar, T), "diffusers_laplace", {})


#: diffusers ``beta_schedule`` name -> float64 schedule ``f(T, config)``
BETA_SCHEDULES: dict[str, Callable[[int, dict[str, Any]], Schedule]] = {
    "linear": _linear,
    "scaled_linear": _scaled_linear,
    "squaredcos_cap_v2": _squaredcos_cap_v2,
    "sigmoid": _sigmoid,
    "laplace": _laplace,
}


def schedule_from_config(cfg: dict[str, Any]) -> Schedule:
    """The float64 :class:`Schedule` a ``DDPMScheduler`` configuration describes.

    ``trained_betas`` (explicit β_1..β_T) win over ``beta_schedule``, as in
    diffusers; ``rescale_betas_zero_snr`` applies Lin et al. 2024, Algorithm 1
    (:meth:`Schedule.rescale_zero_terminal_snr`) afterwards.

    Raises
    ------
    AdapterError
        For an unknown ``beta_schedule`` or a schedule outside the library's domain.
    """
    T = int(cfg.get("num_train_timesteps", 1000))
    try:
        if cfg.get("trained_betas") is not None:
            schedule = Schedule.from_betas(np.asarray(cfg["trained_betas"], dtype=np.float64),
                                           name="diffusers_trained_betas")
        else:
            name = cfg.get("beta_schedule", "linear")
            make = BETA_SCHEDULES.get(name)
            if make is None:
                raise AdapterError(
                    f"beta_schedule {name!r} is not one this library can rebuild; known: "
                    f"{', '.join(BETA_SCHEDULES)} (or give trained_betas)."
                )
            schedule = make(T, cfg)
        if cfg.get("rescale_betas_zero_snr", False):
            schedule = schedule.rescale_zero_terminal_snr()
    except AdapterError:
        raise
    except ValueError as exc:
        raise AdapterError(f"the scheduler's noise schedule cannot be audited: {exc}") from None
    return schedule
