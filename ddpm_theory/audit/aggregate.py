"""From per-row values to the means, standard errors and flags of an audit.

Statistics: every reported mean is over per-example estimates (independent across
examples), with stderr = sd/√n (record module docstring). Flags compare a mean
with a bound one-sidedly at a threshold z that splits a false-alarm budget over
all comparisons made (union bound; :func:`ddpm_theory.numeric.z_threshold`). A
comparison of a mean with a sample SE uses the skewness-corrected rule of
:func:`ddpm_theory.numeric.skew_corrected_bounds` (per-example estimates of a KL are
skewed; a plain normal rule exceeds its level on skewed summands).
"""

from __future__ import annotations

import math

import numpy as np

from ..numeric.acceptance import skew_corrected_bounds, z_threshold
from .record import Flag, Value

__all__ = ["value", "group_by_t", "skewness_by_t", "flag_threshold", "studentised", "compare",
           "ROUNDING"]

ROUNDING = 1e-9
"""Deterministic slack of a comparison, relative to 1 + |bound| (nats). Every
per-row quantity is a float64 sum over D of O(1) terms computed without
cancellation (relative error ~1e-15 each); after averaging, 1e-9 exceeds the
accumulated rounding by orders of magnitude, yet is far below any discrepancy a
flag is meant to catch (a wrong coefficient moves a term by ≥ 1e-6 nats)."""


def value(x: np.ndarray) -> Value:
    """Mean of per-example estimates ``x`` (n,), its stderr sd/√n (inf if n < 2)."""
    x = np.asarray(x, dtype=np.float64)
    n = int(x.size)
    if n == 0:
        return Value(math.nan, math.inf, 0)
    se = float(np.std(x, ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    return Value(float(np.mean(x)), se, n)


def group_by_t(
    t: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct t: (t, mean, stderr, count) of the entries of ``x`` at that t."""
    t = np.asarray(t).reshape(-1)
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    ts, inv, counts = np.unique(t, return_inverse=True, return_counts=True)
    mean = np.bincount(inv, weights=x) / counts
    dev2 = np.bincount(inv, weights=(x - mean[inv]) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(counts > 1, np.sqrt(dev2 / np.maximum(counts - 1, 1) / counts), np.inf)
    return ts.astype(np.int64), mean, se, counts.astype(np.int64)


def skewness_by_t(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per distinct t (as :func:`group_by_t`): the sample skewness m_3 / m_2^{3/2} of the
    entries of ``x`` at that t (0 where they are constant). Each group is first shifted by
    its first entry, so that a constant group has deviations exactly 0 (its rounded mean
    would leave ±ε, of skewness ±1), and the deviations are divided by their largest
    magnitude (skewness does not depend on scale), so that m_2^{3/2} cannot underflow for a
    group of small spread."""
    t = np.asarray(t).reshape(-1)
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    _, first, inv, counts = np.unique(t, return_index=True, return_inverse=True,
                                      return_counts=True)
    y = x - x[first][inv]
    d = y - (np.bincount(inv, weights=y) / counts)[inv]
    scale = np.zeros(counts.size)
    np.maximum.at(scale, inv, np.abs(d))
    d = d / np.where(scale > 0, scale, 1.0)[inv]
    m2 = np.bincount(inv, weights=d * d) / counts
    m3 = np.bincount(inv, weights=d * d * d) / counts
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(m2 > 0, m3 / np.maximum(m2, 1e-300) ** 1.5, 0.0)


def flag_threshold(false_alarm: float, n_comparisons: int) -> float:
    """One-sided z for ``n_comparisons`` comparisons sharing ``false_alarm``."""
    return z_threshold(false_alarm, max(int(n_comparisons), 1), two_sided=False)


def studentised(z: float, n: int) -> float:
    """The one-sided Student-t quantile, n − 1 degrees of freedom, at the level Φ(−z) of the
    normal ``z``; ``z`` itself when ``n`` < 2 (no sample standard error to studentise)."""
    if n < 2 or not math.isfinite(z):
        return z
    from scipy import special

    return float(-special.stdtrit(n - 1, special.ndtr(-z)))


def compare(
    term: str, t: int | None, gap: float, stderr: float, bound: float, z: float, *,
    below_kind: str, above_kind: str | None = None, value_: float | None = None,
    skewness: float = 0.0, n: int = 0,
) -> Flag | None:
    """A :class:`Flag` if ``gap`` (= value − bound) is below −(z_lo·stderr + slack), or, with
    ``above_kind``, above z_hi·stderr + slack; slack = :data:`ROUNDING`·(1 + |bound|).
    (−z_lo, z_hi) = :func:`~ddpm_theory.numeric.skew_corrected_bounds` (z, ``skewness``,
    ``n``) for a mean of ``n`` ≥ 3 summands of that sample skewness, else (−z, z).  With a
    sample standard error of ``n`` ≥ 2 summands, z is first moved to the Student-t quantile
    of the same one-sided level with n − 1 degrees of freedom (:func:`studentised`): the
    normal z would let a near-Gaussian gap of 16 samples raise a flag about 11 times as
    often as its share of the budget (measured by simulation, docs/verification.md)."""
    if not math.isfinite(gap):
        return None
    slack = ROUNDING * (1.0 + abs(bound))
    se = stderr if math.isfinite(stderr) else math.inf
    zs = gap / se if se > 0 else (math.copysign(math.inf, gap) if gap else 0.0)
    shown = bound + gap if value_ is None else value_
    where = term if t is None else f"{term} at t = {t}"
    z = studentised(z, n) if stderr > 0 else z
    lo, hi = (-z, z)
    if n >= 3 and math.isfinite(skewness) and skewness != 0.0:
        lo, hi = skew_corrected_bounds(z, skewness, n)
    if gap < lo * se - slack:
        return Flag(below_kind, term, t, shown, bound, stderr, zs,
                    f"{where} is {-gap:.4g} nats below its bound {bound:.6g} "
                    f"(z = {zs:.3g} < -{z:.3g}): the audit or the data law is wrong")
    if above_kind is not None and gap > hi * se + slack:
        return Flag(above_kind, term, t, shown, bound, stderr, zs,
                    f"{where} exceeds its Bayes-optimal value {bound:.6g} by {gap:.4g} nats "
                    f"(z = {zs:.3g} > {z:.3g}): a suboptimal model or a mis-specified audit")
    return None
