"""Noise schedules β_1..β_T and every per-timestep quantity derived from them.

Index convention (the only place it is stated): every length-T array of a
:class:`Schedule` is indexed so that **array index i holds paper timestep
t = i + 1**. So ``schedule.betas[0]`` is β_1 and ``schedule.alpha_bar[-1]`` is ᾱ_T.
``alpha_bar_prev[i]`` is ᾱ_{t−1} for t = i + 1, with ᾱ_0 = 1.

Notation (symbol ↔ attribute):

==========  =========================  ==================================================
symbol      attribute                  definition
==========  =========================  ==================================================
β_t         ``betas``                  forward variance (Ho et al. 2020, Eq. 2)
α_t         ``alphas``                 1 − β_t
ᾱ_t         ``alpha_bar``              ∏_{s≤t} α_s (Ho et al. 2020, Eq. 4)
1 − ᾱ_t     ``one_minus_alpha_bar``    computed as −expm1(Σ log1p(−β))
ᾱ_{t−1}     ``alpha_bar_prev``         ᾱ_0 = 1
β̃_t         ``beta_tilde``             (1−ᾱ_{t−1})/(1−ᾱ_t) β_t (Ho et al. 2020, Eq. 7)
SNR(t)      ``snr``                    ᾱ_t/(1−ᾱ_t) (Kingma et al. 2021, Eq. 2)
log SNR(t)  ``log_snr``                log ᾱ_t − log(1−ᾱ_t)
==========  =========================  ==================================================

β̃_1 = 0 exactly (ᾱ_0 = 1).

All arrays are float64, read-only, computed once. ᾱ is accumulated in log
space, log ᾱ_t = Σ_{s≤t} log1p(−β_s), and 1 − ᾱ_t = −expm1(log ᾱ_t), so that
1 − ᾱ_1 = β_1 to working precision even for β_1 = 1e-4.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..domains import BETA, DomainError

if TYPE_CHECKING:
    from .respace import Respacing

__all__ = ["Schedule", "ScheduleError", "SCHEDULES", "T_REFERENCE"]

#: the number of steps for which Ho et al. 2020 chose β_1 = 1e-4, β_T = 0.02
T_REFERENCE = 1000


class ScheduleError(DomainError):
    """A schedule violates its declared domain (β ∈ (0, 1], ᾱ strictly decreasing)."""


def _readonly(a: np.ndarray) -> np.ndarray:
    """A read-only float64 copy (never the caller's own array, which stays writable)."""
    a = np.array(a, dtype=np.float64)  # a copy; a copy of a 1-D array is contiguous
    a.setflags(write=False)
    return a


def _betas_from_alpha_bar_fn(
    f: Callable[[np.ndarray], np.ndarray], T: int, max_beta: float
) -> np.ndarray:
    """β_t = min(1 − ᾱ(t/T)/ᾱ((t−1)/T), max_beta) for t = 1..T, ᾱ(u) = f(u)/f(0)
    (Nichol & Dhariwal 2021, Sec. 3.2, below Eq. 17: "we clip β_t to be no larger
    than 0.999 to prevent singularities at the end of the diffusion process")."""
    u = np.arange(T + 1, dtype=np.float64) / T
    ab = f(u) / f(np.zeros(1))[0]
    return np.minimum(1.0 - ab[1:] / ab[:-1], max_beta)


def _check_T(T: int) -> int:
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T (the number of diffusion steps) must be an integer >= 1; got {T!r}.")
    return int(T)


def _check_ends(beta_start: float, beta_end: float) -> None:
    for name, v in (("beta_start", beta_start), ("beta_end", beta_end)):
        if not (isinstance(v, (int, float, np.floating)) and math.isfinite(v) and 0.0 < v <= 1.0):
            raise ScheduleError(f"{name} must be a number in (0, 1]; got {v!r}.")


@dataclass(frozen=True, eq=False)
class Schedule:
    """A validated noise schedule β_1..β_T with its derived float64 arrays.

    Build one with a named constructor (:meth:`linear`, :meth:`cosine`,
    :meth:`sigmoid`, :meth:`quadratic`) or from data (:meth:`from_betas`,
    :meth:`from_alpha_bar`). ``name`` and ``params`` record how it was made
    (for checkpoints and plots); ``betas`` is the source of truth.

    Raises
    ------
    ScheduleError
        If some β_t is not finite or outside (0, 1] (the message names the index
        and the paper timestep), if β_t = 1 anywhere but t = T, or if ᾱ fails to
        decrease strictly in float64.

    Examples
    --------
    >>> s = Schedule.linear(1000)
    >>> s.T, float(s.betas[0]), float(s.betas[-1])
    (1000, 0.0001, 0.02)
    >>> float(s.beta_tilde[0])
    0.0
    """

    betas: np.ndarray
    name: str = "custom"
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        b = np.asarray(self.betas, dtype=np.float64)
        if b.ndim != 1 or b.size == 0:
            raise ScheduleError(f"betas must be a non-empty 1-D array; got shape {b.shape}.")
        try:
            BETA.validate(b, "beta_t (array index i is timestep t = i + 1)")
        except DomainError as exc:
            raise ScheduleError(str(exc)) from None
        ones = np.flatnonzero(b[:-1] == 1.0)
        if ones.size:
            i = int(ones[0])
            raise ScheduleError(
                f"beta_t = 1 is allowed only at the last step t = T (zero terminal SNR); "
                f"got beta = 1 at index {i} (t = {i + 1}) of {b.size}."
            )
        with np.errstate(divide="ignore"):
            log_ab = np.cumsum(np.log1p(-b))
        ab = np.exp(log_ab)
        bad = np.flatnonzero(np.diff(ab) >= 0)
        if bad.size:
            i = int(bad[0]) + 1
            if ab[i] < np.finfo(np.float64).tiny:  # subnormal or 0: ᾱ underflowed float64
                raise ScheduleError(
                    f"alpha_bar underflows float64 at t = {i + 1} (log alpha_bar = "
                    f"{float(log_ab[i]):.4g}; the smallest float64 is about e^-745): the signal "
                    f"is destroyed long before T = {b.size}. Use fewer steps or smaller betas "
                    "(for alpha_bar_T = 0 exactly, use rescale_zero_terminal_snr)."
                )
            raise ScheduleError(
                f"alpha_bar must decrease strictly; alpha_bar[{i}] = {float(ab[i])!r} does not "
                f"fall below alpha_bar[{i - 1}] = {float(ab[i - 1])!r} (index {i}, t = {i + 1}): "
                f"beta_t = {float(b[i])!r} is below float64 resolution there."
            )
        one_m = -np.expm1(log_ab)
        ab_prev = np.concatenate([[1.0], ab[:-1]])
        one_m_prev = np.concatenate([[0.0], one_m[:-1]])
        beta_tilde = np.empty_like(b)
        beta_tilde[0] = 0.0  # β̃_1 = (1 − ᾱ_0)/(1 − ᾱ_1) β_1 = 0 exactly, as ᾱ_0 = 1
        beta_tilde[1:] = one_m_prev[1:] / one_m[1:] * b[1:]
        with np.errstate(divide="ignore"):
            log_snr = log_ab - np.log(one_m)
        put = object.__setattr__
        put(self, "betas", _readonly(b))
        put(self, "params", dict(self.params))
        put(self, "alphas", _readonly(1.0 - b))
        put(self, "log_alpha_bar", _readonly(log_ab))
        put(self, "alpha_bar", _readonly(ab))
        put(self, "one_minus_alpha_bar", _readonly(one_m))
        put(self, "alpha_bar_prev", _readonly(ab_prev))
        put(self, "one_minus_alpha_bar_prev", _readonly(one_m_prev))
        put(self, "beta_tilde", _readonly(beta_tilde))
        put(self, "snr", _readonly(ab / one_m))
        put(self, "log_snr", _readonly(log_snr))

    # these are set in __post_init__; declared for type checkers and readers
    alphas: np.ndarray = field(init=False, repr=False)
    log_alpha_bar: np.ndarray = field(init=False, repr=False)
    alpha_bar: np.ndarray = field(init=False, repr=False)
    one_minus_alpha_bar: np.ndarray = field(init=False, repr=False)
    alpha_bar_prev: np.ndarray = field(init=False, repr=False)
    one_minus_alpha_bar_prev: np.ndarray = field(init=False, repr=False)
    beta_tilde: np.ndarray = field(init=False, repr=False)
    snr: np.ndarray = field(init=False, repr=False)
    log_snr: np.ndarray = field(init=False, repr=False)

    # -- basic -------------------------------------------------------------------
    @property
    def T(self) -> int:
        """Number of diffusion steps."""
        return int(self.betas.size)

    @property
    def zero_terminal_snr(self) -> bool:
        """Whether ᾱ_T = 0 (β_T = 1), as after :meth:`rescale_zero_terminal_snr`."""
        return bool(self.betas[-1] == 1.0)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Schedule.{self.name}(T={self.T}{', ' + args if args else ''})"

    def spec(self) -> dict[str, Any]:
        """Plain-data description (name and constructor arguments)."""
        return {"name": self.name, "params": dict(self.params), "T": self.T}

    # -- named schedules -----------------------------------------------------------
    @classmethod
    def linear(
        cls, T: int, beta_start: float = 1e-4, beta_end: float = 0.02, *, scale_to_T: bool = False
    ) -> Schedule:
        """β_t linear in t from ``beta_start`` to ``beta_end`` (Ho et al. 2020, Sec. 4:
        "linearly from β_1 = 10⁻⁴ to β_T = 0.02", T = 1000).

        With ``scale_to_T=True`` both ends are multiplied by 1000/T so that a
        shorter chain destroys the signal as much as the paper's T = 1000 one
        (Nichol & Dhariwal 2021, released code ``get_named_beta_schedule``).
        """
        T = _check_T(T)
        _check_ends(beta_start, beta_end)
        scale = T_REFERENCE / T if scale_to_T else 1.0
        betas = np.linspace(beta_start * scale, beta_end * scale, T, dtype=np.float64)
        params = {"beta_start": beta_start, "beta_end": beta_end, "scale_to_T": scale_to_T}
        return cls(betas, "linear", params)

    @classmethod
    def quadratic(
        cls, T: int, beta_start: float = 1e-4, beta_end: float = 0.02, *, scale_to_T: bool = False
    ) -> Schedule:
        """√β_t linear in t, β_t = (√β_1 + (t−1)/(T−1)·(√β_T − √β_1))² (the "quad"
        schedule of Ho et al. 2020's released code, ``get_beta_schedule``)."""
        T = _check_T(T)
        _check_ends(beta_start, beta_end)
        scale = T_REFERENCE / T if scale_to_T else 1.0
        root = np.linspace(math.sqrt(beta_start * scale), math.sqrt(beta_end * scale), T)
        params = {"beta_start": beta_start, "beta_end": beta_end, "scale_to_T": scale_to_T}
        return cls(root**2, "quadratic", params)

    @classmethod
    def cosine(cls, T: int, s: float = 0.008, max_beta: float = 0.999) -> Schedule:
        """ᾱ_t = f(t)/f(0), f(t) = cos²(((t/T) + s)/(1 + s) · π/2), with
        β_t = min(1 − ᾱ_t/ᾱ_{t−1}, ``max_beta``) (Nichol & Dhariwal 2021, Eq. 17
        and the clipping below it). ᾱ is then recomputed from the clipped β, so it
        differs from f(t)/f(0) only where the clip bites (the last step for
        the default arguments)."""
        T = _check_T(T)
        if not s > 0:
            raise ValueError(f"cosine offset s must be positive; got {s!r}.")

        def f(u: np.ndarray) -> np.ndarray:
            return np.cos((u + s) / (1.0 + s) * (math.pi / 2.0)) ** 2

        betas = _betas_from_alpha_bar_fn(f, T, max_beta)
        return cls(betas, "cosine", {"s": s, "max_beta": max_beta})

    @classmethod
    def sigmoid(
        cls,
        T: int,
        start: float = -3.0,
        end: float = 3.0,
        tau: float = 1.0,
        max_beta: float = 0.999,
    ) -> Schedule:
        """ᾱ(u) = (σ(end/τ) − σ((u(end − start) + start)/τ)) / (σ(end/τ) − σ(start/τ)),
        u = t/T (Chen 2023, "On the Importance of Noise Scheduling for Diffusion
        Models", Algorithm 1, without its clip_min), discretised and clipped at
        ``max_beta`` exactly as :meth:`cosine`."""
        T = _check_T(T)
        if not (end > start and tau > 0):
            raise ValueError(
                f"sigmoid needs end > start and tau > 0; got {start=}, {end=}, {tau=}."
            )

        def sig(z: np.ndarray | float) -> Any:
            return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))

        v_start, v_end = sig(start / tau), sig(end / tau)

        def f(u: np.ndarray) -> np.ndarray:
            return (v_end - sig((u * (end - start) + start) / tau)) / (v_end - v_start)

        betas = _betas_from_alpha_bar_fn(f, T, max_beta)
        params = {"start": start, "end": end, "tau": tau, "max_beta": max_beta}
        return cls(betas, "sigmoid", params)

    @classmethod
    def from_betas(cls, betas: Any, name: str = "from_betas") -> Schedule:
        """A schedule from explicit β_1..β_T (validated)."""
        return cls(np.array(betas, dtype=np.float64), name, {})

    @classmethod
    def from_alpha_bar(cls, alpha_bar: Any, name: str = "from_alpha_bar") -> Schedule:
        """A schedule from ᾱ_1..ᾱ_T: β_t = 1 − ᾱ_t/ᾱ_{t−1}, ᾱ_0 = 1 (Ho et al. 2020,
        Eq. 4 inverted). ᾱ must be finite, in [0, 1] and strictly decreasing
        (ᾱ_T = 0 is allowed: zero terminal SNR)."""
        ab = np.array(alpha_bar, dtype=np.float64)
        if ab.ndim != 1 or ab.size == 0:
            raise ScheduleError(f"alpha_bar must be a non-empty 1-D array; got shape {ab.shape}.")
        bad = np.flatnonzero(~np.isfinite(ab) | (ab < 0) | (ab > 1))
        if bad.size:
            i = int(bad[0])
            raise ScheduleError(
                f"alpha_bar must be finite and in [0, 1]; got {float(ab[i])!r} at index {i}."
            )
        prev = np.concatenate([[1.0], ab[:-1]])
        dec = np.flatnonzero(ab >= prev)
        if dec.size:
            i = int(dec[0])
            raise ScheduleError(
                f"alpha_bar must decrease strictly from alpha_bar_0 = 1; index {i} (t = {i + 1}) "
                f"has {float(ab[i])!r} >= {float(prev[i])!r}."
            )
        return cls(1.0 - ab / prev, name, {})

    def respace(self, K: int) -> Respacing:
        """The K-step sub-chain with β'_i = 1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}} and its kept
        timesteps τ (paper convention 1..T, τ_K = T) (Nichol & Dhariwal 2021,
        Sec. 4); see :mod:`ddpm_theory.backend.respace`.

        Examples
        --------
        >>> r = Schedule.linear(1000).respace(4)
        >>> r.timesteps.tolist(), r.schedule.T
        ([1, 334, 667, 1000], 4)
        """
        from .respace import respace

        return respace(self, K)

    def rescale_zero_terminal_snr(self) -> Schedule:
        """Shift and scale √ᾱ so that √ᾱ_T = 0 while √ᾱ_1 is kept (Lin et al. 2024,
        "Common Diffusion Noise Schedules and Sample Steps are Flawed", Algorithm 1).

        The result has β_T = 1 and SNR(T) = 0; an ε-parameterised model cannot
        recover x_0 at t = T then (Lin et al. 2024, Sec. 3.2), which
        :class:`~ddpm_theory.backend.process.GaussianDiffusion` refuses.
        """
        r = np.sqrt(self.alpha_bar)
        r0, rT = r[0], r[-1]
        r = (r - rT) * (r0 / (r0 - rT))
        ab = r**2  # r[-1] = 0 exactly, so alpha_bar_T = 0 and beta_T = 1
        prev = np.concatenate([[1.0], ab[:-1]])
        betas = 1.0 - ab / prev
        params = {**self.params, "base": self.name, "zero_terminal_snr": True}
        return Schedule(betas, self.name + "_zero_terminal_snr", params)


def _named(name: str) -> Callable[..., Schedule]:
    return getattr(Schedule, name)


#: schedule name -> constructor ``f(T, **params)``; the CLI, docs and tests enumerate it
SCHEDULES: dict[str, Callable[..., Schedule]] = {
    n: _named(n) for n in ("linear", "cosine", "sigmoid", "quadratic")
}


def get_schedule(name: str, T: int, **params: Any) -> Schedule:
    """Build a registered schedule by name; an unknown name lists the known ones."""
    try:
        make = SCHEDULES[name]
    except KeyError:
        raise ValueError(
            f"unknown schedule {name!r}; known schedules: {', '.join(sorted(SCHEDULES))}."
        ) from None
    return make(T, **params)
