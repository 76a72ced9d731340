"""Which transitions L_{t−1} an audit evaluates, and with what weights.

Σ_{t=2}^T L_{t−1} is estimated per example by Σ_k w_k L_{t_k − 1} over K slots:

* ``all``: every t = 2..T once, w = 1 (exact in t);
* ``stratified``: 2..T cut into K contiguous strata S_k of sizes differing by at
  most one; one t_k uniform in S_k per example, w_k = |S_k| (unbiased: E[w_k L] =
  Σ_{t∈S_k} L_{t−1});
* ``importance``: t_k drawn from a proposal π over 2..T (systematically in its
  CDF, see :func:`plan_importance`), w_k = 1/(K π(t_k)) (unbiased for any π > 0).
  The default π ∝ √E[L_{t−1}²], the variance-minimising choice (Nichol & Dhariwal
  2021, Sec. 3.3), estimated from a pilot run on a grid of t, mixed with 10 %
  uniform mass so that no weight exceeds 10 (T − 1)/K
  (defensive importance sampling, Hesterberg 1995, Technometrics 37:185);
* an explicit sequence of paper timesteps: those t only, w = 1 (no total).

Arrays are ``(B, K)``: t (Long, paper timesteps) and w (float64).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = ["Plan", "plan_all", "plan_stratified", "plan_importance", "plan_explicit",
           "proposal_from_pilot", "pilot_grid", "DEFENSIVE_MIX"]

#: share of uniform mass mixed into an estimated importance proposal
DEFENSIVE_MIX = 0.1


@dataclass(frozen=True)
class Plan:
    """Transition slots of an audit.

    Attributes
    ----------
    kind
        ``all``, ``stratified``, ``importance`` or ``explicit``.
    t
        ``(B, K)`` Long, paper timesteps in 2..T of the transition slots.
    w
        ``(B, K)`` float64 weights (see module docstring).
    estimates_total
        Whether Σ_k w_k L_{t_k−1} is an unbiased estimate of Σ_{t=2}^T L_{t−1}.
    decoder
        Whether L_0 (t = 1) is evaluated.
    proposal
        ``(T − 1,)`` π over t = 2..T for ``importance`` (else None).
    """

    kind: str
    t: Tensor
    w: Tensor
    estimates_total: bool
    decoder: bool = True
    proposal: np.ndarray | None = None

    @property
    def K(self) -> int:
        return int(self.t.shape[1])


def plan_all(B: int, T: int) -> Plan:
    """Every transition t = 2..T for each of B examples, weight 1."""
    t = torch.arange(2, T + 1, dtype=torch.long).expand(B, T - 1).clone()
    return Plan("all", t, torch.ones(B, T - 1, dtype=torch.float64), True)


def _count(K: int) -> int:
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or not 1 <= K:
        raise ValueError(f"the number of sampled timesteps must be a positive integer; got {K!r}.")
    return int(K)


def plan_stratified(B: int, T: int, K: int, generator: torch.Generator) -> Plan:
    """One uniform t per stratum of 2..T, K contiguous strata (K ≤ T − 1)."""
    K = min(_count(K), T - 1)
    edges = np.linspace(2, T + 1, K + 1).round().astype(np.int64)  # strata [e_k, e_{k+1})
    lo = torch.from_numpy(edges[:-1])
    size = torch.from_numpy(np.diff(edges))
    u = torch.rand(B, K, generator=generator, dtype=torch.float64, device=generator.device).cpu()
    t = lo + torch.floor(u * size).long().clamp(max=size - 1)
    return Plan("stratified", t, size.to(torch.float64).expand(B, K).clone(), True)


def plan_importance(
    B: int, T: int, K: int, proposal: np.ndarray, generator: torch.Generator
) -> Plan:
    """K draws t_k ~ π per example, w_k = 1/(K π(t_k)); π over t = 2..T.

    The K draws are systematic in the proposal's CDF F: t_k = F⁻¹((k + U)/K) with
    one U ~ U(0, 1) per example (stratified sampling in u-space). Each weighted
    term integrates L/π over a band of u of width 1/K, so the sum is unbiased for
    Σ_{t=2}^T L_{t−1} exactly as with i.i.d. draws, with no larger variance.
    """
    K = _count(K)
    p = np.asarray(proposal, dtype=np.float64)
    if p.shape != (T - 1,) or not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise ValueError(
            f"an importance proposal needs T - 1 = {T - 1} positive finite masses for t = 2..T; "
            f"got shape {p.shape}."
        )
    p = p / p.sum()
    cdf = np.cumsum(p)
    cdf[-1] = 1.0
    u = torch.rand(B, 1, generator=generator, dtype=torch.float64,
                   device=generator.device).cpu().numpy()
    grid = (np.arange(K)[None, :] + u) / K  # (B, K), in [0, 1)
    j = np.minimum(np.searchsorted(cdf, grid, side="right"), T - 2)
    w = 1.0 / (K * p[j])
    return Plan("importance", torch.from_numpy(j + 2), torch.from_numpy(w), True, proposal=p)


def plan_explicit(B: int, T: int, timesteps: Sequence[int]) -> Plan:
    """The given paper timesteps (t = 1 selects the decoder), each weight 1."""
    ts = [int(v) for v in timesteps]
    if not ts:
        raise ValueError("an explicit list of timesteps must not be empty.")
    bad = [v for v in ts if not 1 <= v <= T]
    if bad:
        raise ValueError(
            f"timesteps must be paper timesteps 1 <= t <= T = {T} (t = 1 is the decoder L_0, "
            f"t >= 2 the KL L_(t-1)); got {bad[:5]}."
        )
    if len(set(ts)) != len(ts):
        raise ValueError(f"timesteps must be distinct; got {ts}.")
    trans = sorted(v for v in ts if v >= 2)
    t = torch.tensor(trans, dtype=torch.long).expand(B, len(trans)).clone()
    return Plan("explicit", t, torch.ones(B, len(trans), dtype=torch.float64), False,
                decoder=1 in ts)


def pilot_grid(T: int, size: int = 48) -> np.ndarray:
    """About ``size`` paper timesteps in 2..T, denser at small t (geometric then
    linear), always including 2, 3 and T."""
    geo = np.geomspace(2, T, size // 2)
    lin = np.linspace(2, T, size - size // 2)
    g = np.unique(np.concatenate([[2, 3, T], geo.round(), lin.round()]).astype(np.int64))
    return g[(g >= 2) & (g <= T)]


def proposal_from_pilot(T: int, grid: np.ndarray, second_moment: np.ndarray) -> np.ndarray:
    """π over t = 2..T from pilot estimates of E[L_{t−1}²] on ``grid``: √m₂
    interpolated linearly in log between grid points, normalised, then mixed with
    :data:`DEFENSIVE_MIX` uniform mass."""
    root = np.sqrt(np.maximum(np.asarray(second_moment, dtype=np.float64), 0.0))
    positive = root > 0
    if not positive.any():
        return np.full(T - 1, 1.0 / (T - 1))
    floor = root[positive].min() * 1e-3  # a zero pilot value must keep some mass
    log_root = np.log(np.maximum(root, floor))
    ts = np.arange(2, T + 1)
    p = np.exp(np.interp(ts, grid, log_root))
    p /= p.sum()
    return (1.0 - DEFENSIVE_MIX) * p + DEFENSIVE_MIX / (T - 1)

