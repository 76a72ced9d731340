"""Shared bits of the numeric tests: profile detection and replication counts."""

from __future__ import annotations

import os

import numpy as np
from hypothesis import settings

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
