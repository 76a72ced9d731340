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
