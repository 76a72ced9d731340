"""Hypothesis strategies built from the declared parameter domains: the ones the library's
own tests use, public for yours (``pip install ddpm-theory[test]`` brings Hypothesis).

Every strategy here derives its range from a :class:`ddpm_theory.domains.Domain`
(STYLE rule 6): a caller may narrow a range, never widen it -- asking for a
range outside the domain raises at strategy-construction time.

Noise schedules (float64 arrays of beta_1..beta_T, nondecreasing) come in the
kinds of :class:`ScheduleKind`:

* ``RANDOM`` -- sorted uniform draws in (0, 0.999];
* ``NEAR_ZERO`` / ``NEAR_ONE`` -- all betas within a factor ~10 of 1e-8, or in [0.99, 0.999999];
* ``LINEAR`` -- Ho et al. 2020, section 4: linspace(1e-4, 0.02, T) (not rescaled by
  1000 / T, so it stays in the domain for every T);
* ``COSINE`` -- Nichol & Dhariwal 2021, Eq. 17, s = 0.008, beta clipped at 0.999;
* ``ZERO_TERMINAL_SNR`` -- Lin et al. 2024 ("Common diffusion noise schedules
  and sample steps are flawed"), Algorithm 1 applied to the linear schedule:
  sqrt(alpha_bar) shifted and rescaled so that alpha_bar_T = 0 (beta_T = 1).

``EDGE_SCHEDULES`` lists fixed schedules for ``@example`` pins; :func:`ddpm_regime` draws a
timestep of DDPM's own schedule (T = 1000, β from 1e-4 to 0.02).

Data laws with known scores: :func:`gaussian_mixtures` draws a diagonal Gaussian mixture
(weights, means, variances); :func:`mixture_score` is the score of its diffused marginal
q_t(x_t) in closed form and :func:`mixture_log_density` the log-density it is the
gradient of (x_t | k ~ N(√ᾱ m_k, ᾱ S_k + (1 − ᾱ) I), Ho et al. 2020, Eq. 4).
"""

from __future__ import annotations

import enum
import functools
import math
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ddpm_theory import domains
from ddpm_theory.domains import Domain

__all__ = [
    "ScheduleKind",
    "EDGE_SCHEDULES",
    "floats_in",
    "schedule",
    "schedules",
    "timesteps",
    "schedule_and_t",
    "dimensions",
    "means",
    "variances",
    "seeds",
    "ddpm_regime",
    "MixtureLaw",
    "gaussian_mixtures",
    "mixture_log_density",
    "mixture_score",
]


def floats_in(
    domain: Domain, lo: float | None = None, hi: float | None = None
) -> st.SearchStrategy[float]:
    """Finite float64 values in ``domain`` intersected with ``[lo, hi]``.

    Without ``lo``/``hi`` the domain's own finite sampling bounds
    (``Domain.bounds()``) are used and open ends are excluded.
    """
    dlo, dhi = domain.bounds()
    a = dlo if lo is None else lo
    b = dhi if hi is None else hi
    for v, end in ((a, "lo"), (b, "hi")):
        on_open_end = (v == domain.lo and domain.lo_open) or (v == domain.hi and domain.hi_open)
        if not (bool(domain.contains(v)) or on_open_end):
            raise ValueError(f"{end}={v} lies outside domain {domain.name} "
                             f"{domain.interval_text()}")
    if a > b:
        raise ValueError(f"empty range [{a}, {b}]")
    return st.floats(
        a, b,
        exclude_min=a == domain.lo and domain.lo_open,
        exclude_max=b == domain.hi and domain.hi_open,
        allow_nan=False, allow_infinity=False, allow_subnormal=False,
    )


class ScheduleKind(enum.Enum):
    RANDOM = "random"
    NEAR_ZERO = "near_zero"
    NEAR_ONE = "near_one"
    LINEAR = "linear"
    COSINE = "cosine"
    ZERO_TERMINAL_SNR = "zero_terminal_snr"


def _linear(n_steps: int) -> np.ndarray:
    return np.linspace(1e-4, 0.02, n_steps, dtype=np.float64)


def _cosine(n_steps: int, s: float = 0.008) -> np.ndarray:
    t = np.arange(n_steps + 1, dtype=np.float64) / n_steps
    f = np.cos((t + s) / (1.0 + s) * math.pi / 2.0) ** 2
    alpha_bar = f / f[0]
    return np.minimum(1.0 - alpha_bar[1:] / alpha_bar[:-1], 0.999)


def _zero_terminal_snr(n_steps: int) -> np.ndarray:
    if n_steps == 1:
        return np.ones(1)
    sab = np.sqrt(np.cumprod(1.0 - _linear(n_steps)))
    first, last = sab[0], sab[-1]
    sab = (sab - last) * first / (first - last)
    ab = sab**2
    betas = 1.0 - ab / np.concatenate([[1.0], ab[:-1]])
    betas[-1] = 1.0  # exact: alpha_bar_T = 0 by construction
    return betas


def schedule(kind: ScheduleKind, n_steps: int) -> np.ndarray:
    """The deterministic schedule of ``kind`` with ``n_steps`` steps."""
    builders = {
        ScheduleKind.LINEAR: _linear,
        ScheduleKind.COSINE: _cosine,
        ScheduleKind.ZERO_TERMINAL_SNR: _zero_terminal_snr,
    }
    if kind not in builders:
        raise ValueError(f"{kind} is random; use schedules()")
    betas = builders[kind](n_steps)
    domains.BETA.validate(betas, "beta")
    return betas


def _sorted_betas(n_steps: int, lo: float, hi: float) -> st.SearchStrategy[np.ndarray]:
    elems = floats_in(domains.BETA, lo, hi)
    return hnp.arrays(np.float64, n_steps, elements=elems).map(np.sort)


def schedules(
    min_steps: int = 1,
    max_steps: int = 32,
    kinds: tuple[ScheduleKind, ...] = tuple(ScheduleKind),
) -> st.SearchStrategy[np.ndarray]:
    """Nondecreasing beta schedules (float64, shape (T,)) of the given kinds."""
    tlo = max(min_steps, int(domains.TIMESTEP.lo))
    steps = st.integers(tlo, max_steps)
    random_kinds = {
        ScheduleKind.RANDOM: (1e-6, 0.999),
        ScheduleKind.NEAR_ZERO: (1e-9, 1e-7),
        ScheduleKind.NEAR_ONE: (0.99, 0.999999),
    }
    options: list[st.SearchStrategy[np.ndarray]] = []
    for kind in kinds:
        if kind in random_kinds:
            lo, hi = random_kinds[kind]
            options.append(steps.flatmap(functools.partial(_sorted_betas, lo=lo, hi=hi)))
        else:
            options.append(steps.map(functools.partial(_fixed, kind)))
    return st.one_of(options)


def _fixed(kind: ScheduleKind, n_steps: int) -> np.ndarray:
    return schedule(kind, n_steps)


EDGE_SCHEDULES: dict[str, np.ndarray] = {
    "single_step": np.array([0.5]),
    "single_step_tiny": np.array([1e-8]),
    "constant_near_zero": np.full(4, 1e-8),
    "constant_near_one": np.full(4, 0.999999),
    "linear_T10": schedule(ScheduleKind.LINEAR, 10),
    "cosine_T10": schedule(ScheduleKind.COSINE, 10),
    "zero_terminal_snr_T10": schedule(ScheduleKind.ZERO_TERMINAL_SNR, 10),
}
"""Pinned schedules for ``@example``; names say what each one stresses."""


def timesteps(n_steps: int) -> st.SearchStrategy[int]:
    """t in 1..T (``domains.TIMESTEP``)."""
    return st.integers(int(domains.TIMESTEP.lo), n_steps)


def schedule_and_t(**kwargs: object) -> st.SearchStrategy[tuple[np.ndarray, int]]:
    """A schedule from :func:`schedules` (same arguments) and a t in 1..T."""
    return schedules(**kwargs).flatmap(  # type: ignore[arg-type]
        lambda b: st.tuples(st.just(b), timesteps(len(b)))
    )


def dimensions(max_dim: int = 4) -> st.SearchStrategy[int]:
    """Dimensions d in 1..max_dim (``domains.DIMENSION``)."""
    return st.integers(int(domains.DIMENSION.lo), max_dim)


def means(dim: int, bound: float | None = None) -> st.SearchStrategy[np.ndarray]:
    """Mean vectors of shape (dim,) with entries in ``domains.REAL``'s sampling bounds."""
    lo, hi = (None, None) if bound is None else (-bound, bound)
    return hnp.arrays(np.float64, dim, elements=floats_in(domains.REAL, lo, hi))


def variances(
    dim: int, lo: float = 1e-3, hi: float = 1e3
) -> st.SearchStrategy[np.ndarray]:
    """Variance vectors of shape (dim,), log-uniform in [lo, hi] inside ``domains.VARIANCE``."""
    floats_in(domains.VARIANCE, lo, hi)  # validates the range against the domain
    logs = st.floats(math.log(lo), math.log(hi))
    return hnp.arrays(np.float64, dim, elements=logs).map(
        lambda x: np.clip(np.exp(x), lo, hi)
    )


def seeds() -> st.SearchStrategy[int]:
    """Seeds for ``numpy.random.default_rng`` (seeds are inputs: docs/verification.md rule 1)."""
    return st.integers(0, 2**32 - 1)


def ddpm_regime() -> st.SearchStrategy[tuple[np.ndarray, int]]:
    """DDPM's own schedule (Ho et al. 2020, §4: T = 1000, β linear from 1e-4 to 0.02) and
    a timestep t in 1..1000."""
    betas = schedule(ScheduleKind.LINEAR, 1000)
    return st.tuples(st.just(betas), timesteps(1000))


@dataclass(frozen=True)
class MixtureLaw:
    """A diagonal Gaussian mixture on R^d: weights (K,), means (K, d), variances (K, d)."""

    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray


def gaussian_mixtures(dim: int, max_components: int = 3,
                      bound: float = 5.0) -> st.SearchStrategy[MixtureLaw]:
    """Mixtures of 1..max_components diagonal Gaussians in dimension ``dim``: weights
    bounded away from 0 and normalised, means in [−bound, bound], variances in
    [1e-2, 1e2]."""
    def build(k: int) -> st.SearchStrategy[MixtureLaw]:
        w = hnp.arrays(np.float64, k, elements=st.floats(0.05, 1.0))
        m = hnp.arrays(np.float64, (k, dim), elements=floats_in(domains.REAL, -bound, bound))
        v = st.lists(variances(dim, 1e-2, 1e2), min_size=k, max_size=k).map(np.stack)
        return st.builds(lambda a, b, c: MixtureLaw(a / a.sum(), b, c), w, m, v)

    return st.integers(1, max_components).flatmap(build)


def _component_terms(law: MixtureLaw, x: np.ndarray, alpha_bar: float
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    domains.ALPHA_BAR.validate(alpha_bar, "alpha_bar")
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))               # (n, d)
    centre = math.sqrt(alpha_bar) * law.means                        # (K, d)
    cov = alpha_bar * law.variances + (1.0 - alpha_bar)              # (K, d)
    diff = x[:, None, :] - centre[None]                              # (n, K, d)
    log_k = (np.log(law.weights)[None] - 0.5 * np.sum(
        diff**2 / cov[None] + np.log(2 * math.pi * cov)[None], axis=-1))  # (n, K)
    return log_k, diff, cov


def mixture_log_density(law: MixtureLaw, x: np.ndarray, alpha_bar: float) -> np.ndarray:
    """log q_t(x) for the mixture diffused to ᾱ_t = ``alpha_bar``; shape (n,)."""
    log_k, _, _ = _component_terms(law, x, alpha_bar)
    top = log_k.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(log_k - top).sum(axis=1, keepdims=True)))[:, 0]


def mixture_score(law: MixtureLaw, x: np.ndarray, alpha_bar: float) -> np.ndarray:
    """∇ log q_t(x) = Σ_k r_k(x) (−(x − √ᾱ m_k)/C_k), r_k the responsibilities; (n, d)."""
    log_k, diff, cov = _component_terms(law, x, alpha_bar)
    r = np.exp(log_k - log_k.max(axis=1, keepdims=True))
    r /= r.sum(axis=1, keepdims=True)
    return np.einsum("nk,nkd->nd", r, -diff / cov[None])
