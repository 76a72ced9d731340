"""Transitions summed over ranges of t, per example, for the audit's summary.

The transitions L_{t−1}, t = 2..T, are cut into at most ten contiguous ranges of
t (deciles of 2..T, sizes differing by at most one). Per example i the sum over
a range G is estimated by Σ_k w_ik L̂_{t_ik − 1} 1[t_ik ∈ G] with the plan's
weights (:mod:`~ddpm_theory.audit.plan`): unbiased for Σ_{t∈G} L_{t−1} whenever
the plan's total is, since each weight is the inverse of its slot's inclusion
probability. The stderr is that of the mean over examples of these per-example
sums, so it accounts for the correlation of the terms of one example across t
(a sum of per-t stderrs in quadrature would not). Gaps are paired on the same
draws (:mod:`~ddpm_theory.audit.summarize`).
"""

from __future__ import annotations

import numpy as np

from .aggregate import value
from .record import TermGroup, Value

__all__ = ["N_GROUPS", "t_ranges", "group_terms", "range_sum"]

#: number of ranges of t in the summary (deciles of 2..T)
N_GROUPS = 10


def t_ranges(T: int, n_groups: int = N_GROUPS) -> list[tuple[int, int]]:
    """Contiguous (t_lo, t_hi), inclusive, covering 2..T in ``min(n_groups, T − 1)`` parts."""
    if T < 2:
        return []
    parts = np.array_split(np.arange(2, T + 1), min(n_groups, T - 1))
    return [(int(p[0]), int(p[-1])) for p in parts]


def range_sum(w: np.ndarray, x: np.ndarray, keep: np.ndarray) -> Value:
    """Mean over examples of Σ_k w_ik x_ik over the slots where ``keep`` (B, K) holds."""
    return value((np.where(keep, w * x, 0.0)).sum(1))


def group_terms(
    t: np.ndarray, w: np.ndarray, loss: np.ndarray, floor: np.ndarray,
    bayes: np.ndarray | None, T: int, flagged_t: set[int],
) -> tuple[TermGroup, ...]:
    """One :class:`TermGroup` per range of t; ``t``, ``w`` and the values are (B, K)."""
    out = []
    for lo, hi in t_ranges(T):
        keep = (t >= lo) & (t <= hi)
        out.append(TermGroup(
            t_lo=lo, t_hi=hi, value=range_sum(w, loss, keep),
            bayes=None if bayes is None else range_sum(w, bayes, keep),
            gap=None if bayes is None else range_sum(w, loss - bayes, keep),
            floor=range_sum(w, floor, keep),
            n_flagged=sum(1 for s in flagged_t if lo <= s <= hi),
        ))
    return tuple(out)
