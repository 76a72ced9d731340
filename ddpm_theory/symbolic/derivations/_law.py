"""A data law with K atoms, K symbolic: the arbitrary law of the score derivations.

The score derivations (Tweedie, the ε-predictor, Analytic-DPM, denoising score matching)
hold for every data law q_0.  The engine's numeric line cannot integrate an abstract
density (its values are random at every argument, so no quadrature converges), so the
*integral* steps are checked on the law q_0 = Σ_{k=1}^K w_k δ(x_0 − a_k) with K, the
weights w_k > 0 (unnormalised: only ratios enter) and the atoms a_k all symbolic: the
symbolic line decides each step by induction on K, the numeric line writes the sums out
at K = 1..5 with fresh random weights and atoms at every point.  Every law is a weak limit
of such laws; that the identities pass to the limit is the stated premise.  The
*pointwise* step -- the x_t-derivative of the Gaussian kernel times any density q_0(x_0) --
is checked with an abstract density.

Everything below is a building block, not a derivation.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from ...domains import DIMENSION, POSITIVE, REAL, UNIT_OPEN
from ..notation import sym, xt

#: ᾱ_t of the score derivations, strictly inside (0, 1)
ab = sym("abar_sc", UNIT_OPEN, r"\bar\alpha_t")
#: the number of atoms (symbolic) and its index
K = sym("K_atoms", DIMENSION, "K")
k = sp.Symbol("k", integer=True, positive=True)
#: weights (positive, unnormalised) and atoms (real) of the data law
W = sp.IndexedBase(sym("w_atom", POSITIVE, "w"), positive=True)
A = sp.IndexedBase(sym("a_atom", REAL, "a"), real=True)

#: the premise of every K-atom step (prose, reported as assumed)
LAW_PREMISE = (r"q_0 = \sum_{k=1}^{K} w_k\,\delta_{a_k}\ (K,\ w_k > 0,\ a_k\ \text{symbolic}); "
               r"every data law is a weak limit of such laws, and the identities pass to "
               r"the limit where the integrals converge")


def S(f: sp.Expr) -> sp.Expr:
    """Σ_{k=1}^K f."""
    return sp.Sum(f, (k, 1, K))


def kernel(a: sp.Expr, abar: sp.Expr = ab) -> sp.Expr:
    """N(x_t; √ᾱ a, 1 − ᾱ), the forward kernel q(x_t | x_0 = a)."""
    v = 1 - abar
    return sp.exp(-(xt - sp.sqrt(abar) * a) ** 2 / (2 * v)) / sp.sqrt(2 * sp.pi * v)


def marginal(abar: sp.Expr = ab) -> sp.Expr:
    """q_t(x_t) = Σ_k w_k N(x_t; √ᾱ a_k, 1 − ᾱ) = ∫ q_0(x_0) q(x_t|x_0) dx_0."""
    return S(W[k] * kernel(A[k], abar))


def posterior_mean(f: Callable[[sp.Expr], sp.Expr], abar: sp.Expr = ab) -> sp.Expr:
    """E[f(x_0) | x_t] = Σ_k w_k N_k f(a_k) / Σ_k w_k N_k (posterior weights ∝ w_k N_k)."""
    return S(W[k] * kernel(A[k], abar) * f(A[k])) / marginal(abar)


def score(abar: sp.Expr = ab) -> sp.Expr:
    """∇ log q_t(x_t), differentiated by SymPy (the sum is differentiated termwise)."""
    return sp.diff(sp.log(marginal(abar)), xt)


def eps_of(a: sp.Expr, abar: sp.Expr = ab) -> sp.Expr:
    """ε = (x_t − √ᾱ x_0)/√(1 − ᾱ) at x_0 = a: the noise as a function of (x_0, x_t)."""
    return (xt - sp.sqrt(abar) * a) / sp.sqrt(1 - abar)
