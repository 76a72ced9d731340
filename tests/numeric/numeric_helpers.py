"""Shared bits of the numeric tests: profile detection and replication counts."""

from __future__ import annotations

import os

import numpy as np
from hypothesis import settings
from scipy import stats

THOROUGH = settings().max_examples >= 400 or os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
"""Heavy statistical replications run only under the ``thorough`` profile."""


def replications(ci: int, thorough: int) -> int:
    """Replication count for calibration studies under the active profile."""
    return thorough if THOROUGH else ci


def calibration_seeds(seed: int, n_thorough: int = 5) -> list[int]:
    """``[seed]`` under ci/dev; under thorough, ``n_thorough`` seeds spawned from ``seed``
    (the ``seed`` fixture, fresh under thorough: rule 1, seeds are inputs, and a failure
    reports the seed that reproduces it)."""
    if not THOROUGH:
        return [seed]
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(n_thorough)]


def gaussian_kl_integrand(m1: np.ndarray, v1: np.ndarray, m2: np.ndarray, v2: np.ndarray):
    """``f(z) = log p(x) - log q(x)``, ``x = m1 + sqrt(v1) z``: E f = KL(p || q) (diagonal)."""
    s1 = np.sqrt(v1)

    def f(z: np.ndarray) -> np.ndarray:
        x = m1 + s1 * z
        lp = -0.5 * (np.log(v1) + z * z)
        lq = -0.5 * (np.log(v2) + (x - m2) ** 2 / v2)
        return np.sum(lp - lq, axis=1)

    return f


def chi2_rejects(q: float, dof: float, alpha: float) -> bool:
    """The exact two-sided test of ``q ~ chi^2_dof``: p = 2 min(cdf, sf) < alpha."""
    return bool(2 * min(stats.chi2.cdf(q, dof), stats.chi2.sf(q, dof)) < alpha)


def chi2_power(rho: float, dof: float, alpha: float, ncp: float = 0.0) -> float:
    """Exact power of :func:`chi2_rejects` when in truth ``q ~ rho * chi'^2_dof(ncp)``
    (a variance claimed ``1/rho`` times too small; ``ncp`` from a wrong claimed mean):
    P(q < lo) + P(q > hi) with lo, hi the chi^2_dof quantiles at alpha/2."""
    lo, hi = stats.chi2.ppf(alpha / 2, dof), stats.chi2.isf(alpha / 2, dof)
    if ncp == 0.0:
        return float(stats.chi2.cdf(lo / rho, dof) + stats.chi2.sf(hi / rho, dof))
    return float(stats.ncx2.cdf(lo / rho, dof, ncp) + stats.ncx2.sf(hi / rho, dof, ncp))
