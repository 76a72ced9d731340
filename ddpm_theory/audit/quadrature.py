"""Exact expectations over the noise: tensor-product Gauss–Hermite rules for ε.

Every term of the bound is an expectation over ε ~ N(0, I_D) of a function of
x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε (Ho et al. 2020, Eq. 4). For a model that is a
polynomial of degree p in x_t, the KL and the Gaussian decoder NLL are
polynomials of degree 2p in ε, which an n-point probabilists' Gauss–Hermite rule
per dimension integrates exactly when 2p ≤ 2n − 1 (Golub & Welsch 1969). The
exact posterior-mean predictor of Gaussian data is linear (p = 1): two nodes
already give the exact value; the default eight leave a wide margin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["gauss_hermite_noise", "MAX_NODES"]

#: cap on n_nodes^D, the model calls per (example, term)
MAX_NODES = 4096


def gauss_hermite_noise(n_nodes: int, event: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``(n_nodes^D, D)`` and weights ``(n_nodes^D,)`` (summing to 1) of the
    tensor-product rule for E[f(ε)], ε ~ N(0, I_D), D = ∏ event.

    Raises
    ------
    ValueError
        If n_nodes < 1 or n_nodes^D exceeds :data:`MAX_NODES` (use Monte-Carlo).
    """
    D = int(np.prod(tuple(event)))
    if isinstance(n_nodes, bool) or not isinstance(n_nodes, (int, np.integer)) or n_nodes < 1:
        raise ValueError(f"n_nodes must be a positive integer; got {n_nodes!r}.")
    if n_nodes**D > MAX_NODES:
        raise ValueError(
            f"quadrature over D = {D} dimensions with {n_nodes} nodes each needs "
            f"{n_nodes}^{D} model calls per term (cap {MAX_NODES}); use mode='monte_carlo'."
        )
    z, w = np.polynomial.hermite_e.hermegauss(int(n_nodes))
    w = w / math.sqrt(2.0 * math.pi)  # probabilists' weight e^{-z²/2}/√(2π): Σ w = 1
    grids = np.meshgrid(*([z] * D), indexing="ij")
    nodes = np.stack([g.ravel() for g in grids], axis=1)
    weights = np.ones(1)
    for _ in range(D):
        weights = np.multiply.outer(weights, w).ravel()
    return nodes, weights
