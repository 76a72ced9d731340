"""Parameter domains, declared once.

Each :class:`Domain` feeds three consumers so that they cannot disagree:

* the SymPy assumptions of the symbols in :mod:`ddpm_theory.symbolic.notation`
  (``Domain.sympy_assumptions``),
* the random points of the 50-digit numeric step check and the Hypothesis
  strategies of the tests (``Domain.sample``, ``Domain.bounds``),
* run-time validation of user input (``Domain.validate``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Domain",
    "DomainError",
    "REAL",
    "POSITIVE",
    "UNIT_OPEN",
    "UNIT_LEFT_OPEN",
    "BETA",
    "ALPHA",
    "ALPHA_BAR",
    "VARIANCE",
    "TIMESTEP",
    "DIMENSION",
    "DOMAINS",
    "STRATA",
    "engine_sample",
]


class DomainError(ValueError):
    """A value lies outside the domain declared for its parameter."""


@dataclass(frozen=True)
class Domain:
    """An interval of the real line (or of the integers).

    ``lo``/``hi`` may be infinite; ``lo_open``/``hi_open`` say whether the end
    point is excluded.  ``integer`` restricts to integers.
    """

    name: str
    lo: float
    hi: float
    lo_open: bool = True
    hi_open: bool = True
    integer: bool = False
    description: str = ""

    # -- SymPy ---------------------------------------------------------------
    def sympy_assumptions(self) -> dict[str, bool]:
        """Assumptions for ``sympy.Symbol`` that this domain implies."""
        a: dict[str, bool] = {"real": True}
        if self.integer:
            a["integer"] = True
        if self.lo > 0 or (self.lo == 0 and self.lo_open):
            a["positive"] = True
        elif self.lo >= 0:
            a["nonnegative"] = True
        return a

    # -- membership / validation ----------------------------------------------
    def contains(self, x: Any) -> Any:
        """Elementwise membership test (works for scalars and arrays)."""
        arr = np.asarray(x, dtype=float)
        lo_ok = arr > self.lo if self.lo_open else arr >= self.lo
        hi_ok = arr < self.hi if self.hi_open else arr <= self.hi
        ok = lo_ok & hi_ok & ~np.isnan(arr)
        if self.integer:
            ok = ok & (np.floor(arr) == arr)
        return ok

    def interval_text(self) -> str:
        left = "(" if self.lo_open else "["
        right = ")" if self.hi_open else "]"
        kind = "integers in " if self.integer else ""
        return f"{kind}{left}{self.lo:g}, {self.hi:g}{right}"

    def validate(self, value: Any, what: str | None = None) -> Any:
        """Return ``value`` unchanged, or raise :class:`DomainError` naming the
        first offending index and the declared interval."""
        arr = np.asarray(value, dtype=float)
        ok = self.contains(arr)
        if not np.all(ok):
            label = what or self.name
            bad = np.argwhere(~np.atleast_1d(ok))[0]
            idx = tuple(int(i) for i in bad)
            shown = float(np.atleast_1d(arr)[idx])
            where = f" at index {idx[0] if len(idx) == 1 else idx}" if arr.ndim else ""
            raise DomainError(
                f"{label} must lie in {self.interval_text()} ({self.description or self.name}); "
                f"got {shown!r}{where}."
            )
        return value

    # -- sampling ---------------------------------------------------------------
    def bounds(self, margin: float = 0.0) -> tuple[float, float]:
        """Finite sampling bounds inside the domain (infinite ends truncated)."""
        lo = self.lo if math.isfinite(self.lo) else -5.0
        hi = self.hi if math.isfinite(self.hi) else (lo + 10.0 if lo > -5.0 else 5.0)
        if not math.isfinite(self.hi) and self.lo >= 0:
            hi = max(lo, 0.0) + 5.0
        span = hi - lo
        return lo + margin * span, hi - margin * span

    def sample(self, rng: np.random.Generator) -> float:
        """One random point strictly inside the domain (for numeric checks)."""
        lo, hi = self.bounds(margin=0.02)
        if self.integer:
            return float(rng.integers(max(math.ceil(lo), 1), max(math.floor(hi), 2) + 1))
        if self.lo == 0 and math.isinf(self.hi):
            return float(math.exp(rng.uniform(math.log(0.05), math.log(5.0))))
        return float(rng.uniform(lo, hi))


#: the strata of :meth:`Domain.engine_sample`, cycled through by the engine's numeric check
STRATA = ("typical", "ddpm", "extreme", "boundary")
#: DDPM's working ranges (Ho et al. 2020, §4: β_t from 1e-4 to 0.02 over T = 1000 steps,
#: so ᾱ_T ≈ 4e-5 and σ_t² ≈ 1e-4): domain name -> (low, high), drawn log-uniformly
DDPM_RANGES: dict[str, tuple[float, float]] = {
    "beta": (1e-4, 0.02),
    "alpha": (1e-4, 0.02),          # as 1 − α, i.e. α ∈ [0.98, 0.9999]
    "alpha_bar": (4e-5, 0.9999),
    "unit_open": (4e-5, 0.9999),
    "unit_left_open": (4e-5, 0.9999),
    "variance": (1e-4, 1.0),
    "positive": (1e-4, 1.0),
}
#: the extreme stratum reaches 10^−EXTREME_DECADES from each finite end and magnitudes
#: 10^−EXTREME_DECADES .. 10^EXTREME_DECADES on infinite ones
EXTREME_DECADES = 8


def engine_sample(dom: Domain, rng: np.random.Generator, stratum: str) -> float:
    """One point of a real interval domain for the engine's numeric check.

    * ``typical``: :meth:`Domain.sample`;
    * ``ddpm``: the working range of DDPM for this domain (:data:`DDPM_RANGES`), else
      typical;
    * ``extreme``: log-uniform distance 10^−8..10^−1 from a finite end (each end with
      probability ½), log-uniform magnitude 10^−8..10^8 on an infinite side, both signs
      for the real line;
    * ``boundary``: a closed end exactly, else within 10^−12..10^−8 (relative) of an
      open finite end, else a magnitude near 10^±8.
    """
    if stratum == "ddpm" and dom.name in DDPM_RANGES:
        lo, hi = DDPM_RANGES[dom.name]
        v = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        return 1.0 - v if dom.name == "alpha" else v
    if stratum == "extreme":
        return _near_end(dom, rng, -EXTREME_DECADES, -1)
    if stratum == "boundary":
        ends = [e for e, op in ((dom.lo, dom.lo_open), (dom.hi, dom.hi_open))
                if math.isfinite(e) and not op]
        if ends:
            return float(ends[int(rng.integers(len(ends)))])
        return _near_end(dom, rng, -12, -8)
    return dom.sample(rng)


def _near_end(dom: Domain, rng: np.random.Generator, lo_dec: float, hi_dec: float) -> float:
    finite = [(e, +1 if e == dom.lo else -1) for e in (dom.lo, dom.hi) if math.isfinite(e)]
    if len(finite) == 2:
        end, direction = finite[int(rng.integers(2))]
        width = dom.hi - dom.lo
        return end + direction * width * 10.0 ** rng.uniform(lo_dec, hi_dec)
    magnitude = 10.0 ** rng.uniform(-EXTREME_DECADES, EXTREME_DECADES)
    if finite:
        end, direction = finite[0]
        small = 10.0 ** rng.uniform(lo_dec, hi_dec)
        return end + direction * (small if rng.uniform() < 0.5 else magnitude)
    return magnitude if rng.uniform() < 0.5 else -magnitude


REAL = Domain("real", -math.inf, math.inf, description="any real number")
POSITIVE = Domain("positive", 0.0, math.inf, description="a positive real")
UNIT_OPEN = Domain("unit_open", 0.0, 1.0, description="strictly between 0 and 1")
UNIT_LEFT_OPEN = Domain("unit_left_open", 0.0, 1.0, hi_open=False, description="in (0, 1]")
BETA = Domain("beta", 0.0, 1.0, hi_open=False, description="noise variance beta_t")
ALPHA = Domain("alpha", 0.0, 1.0, description="alpha_t = 1 - beta_t")
#: ᾱ_t ∈ (0, 1].  A zero-terminal-SNR schedule (Lin et al. 2024) reaches ᾱ_T = 0 at its
#: last step only: there SNR = 0 and x_0 = (x_t − √(1 − ᾱ) ε)/√ᾱ is undefined, so the
#: derivations (which divide by √ᾱ_t) are stated for ᾱ > 0, and code that accepts such a
#: schedule treats t = T explicitly.
ALPHA_BAR = Domain("alpha_bar", 0.0, 1.0, hi_open=False, description="cumulative product")
VARIANCE = Domain("variance", 0.0, math.inf, description="a variance")
TIMESTEP = Domain("t", 1.0, math.inf, lo_open=False, integer=True, description="1 <= t <= T")
DIMENSION = Domain("d", 1.0, math.inf, lo_open=False, integer=True, description="dimension")

DOMAINS: dict[str, Domain] = {
    d.name: d
    for d in (
        REAL, POSITIVE, UNIT_OPEN, UNIT_LEFT_OPEN, BETA, ALPHA, ALPHA_BAR, VARIANCE,
        TIMESTEP, DIMENSION,
    )
}
