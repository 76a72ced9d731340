"""A data law with K atoms, K symbolic: the arbitrary law of the score derivations.

The score derivations (Tweedie, the ε-predictor, Analytic-DPM, denoising score matching,
guidance) hold for every data law q_0.  The engine's numeric line cannot integrate an
abstract density (its values are random at every argument, so no quadrature converges),
so the *integral* steps are checked on the law q_0 = Σ_{k=1}^K w_k δ(x_0 − a_k) with the
weights w_k > 0 (unnormalised: only ratios enter) and the atoms a_k symbolic.  In
``tweedie-any-law`` K is symbolic too: the symbolic line decides each step by induction
on K, the numeric line writes the sums out at K = 1..5 with fresh random weights and atoms
at every point.  The other derivations write the sums out at K = 3 (:data:`THREE`) to keep
the registry's verification quick.  Every law is a weak limit
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

#: the number of atoms of the derivations that write the sums out (speed: the registry's
#: verification must stay quick); ``tweedie-any-law`` keeps K symbolic
THREE = 3

#: the premise of every K-atom step (prose, reported as assumed)
LAW_PREMISE = (r"q_0 = \sum_{k=1}^{K} w_k\,\delta_{a_k}\ (w_k > 0,\ a_k\ \text{symbolic}); "
               r"every data law is a weak limit of such laws, and the identities pass to "
               r"the limit where the integrals converge")


def S(f: sp.Expr, n: sp.Expr | int = K) -> sp.Expr:
    """Σ_{k=1}^n f: a symbolic sum, or written out when n is a number."""
    if isinstance(n, int):
        return sp.Add(*[f.xreplace({k: sp.Integer(j)}) for j in range(1, n + 1)])
    return sp.Sum(f, (k, 1, n))


def kernel(a: sp.Expr, abar: sp.Expr = ab) -> sp.Expr:
    """exp(−(x_t − √ᾱ a)²/(2(1 − ᾱ))): the forward kernel q(x_t | x_0 = a) without its
    constant 1/√(2π(1 − ᾱ)), which is common to every atom and cancels in every ratio
    and every log-derivative below."""
    return sp.exp(-(xt - sp.sqrt(abar) * a) ** 2 / (2 * (1 - abar)))


def marginal(abar: sp.Expr = ab, n: sp.Expr | int = K) -> sp.Expr:
    """q_t(x_t) ∝ Σ_k w_k N(x_t; √ᾱ a_k, 1 − ᾱ) = ∫ q_0(x_0) q(x_t|x_0) dx_0."""
    return S(W[k] * kernel(A[k], abar), n)


def posterior_mean(f: Callable[[sp.Expr], sp.Expr], abar: sp.Expr = ab,
                   n: sp.Expr | int = K) -> sp.Expr:
    """E[f(x_0) | x_t] = Σ_k w_k N_k f(a_k) / Σ_k w_k N_k (posterior weights ∝ w_k N_k)."""
    return S(W[k] * kernel(A[k], abar) * f(A[k]), n) / marginal(abar, n)


def score(abar: sp.Expr = ab, n: sp.Expr | int = K) -> sp.Expr:
    """∇ log q_t(x_t), differentiated by SymPy (the sum is differentiated termwise)."""
    return sp.diff(sp.log(marginal(abar, n)), xt)


def eps_of(a: sp.Expr, abar: sp.Expr = ab) -> sp.Expr:
    """ε = (x_t − √ᾱ x_0)/√(1 − ᾱ) at x_0 = a: the noise as a function of (x_0, x_t)."""
    return (xt - sp.sqrt(abar) * a) / sp.sqrt(1 - abar)


class Atoms:
    """The helpers above for a fixed number of atoms ``n`` (written out)."""

    def __init__(self, n: int):
        self.n = n

    def S(self, f: sp.Expr) -> sp.Expr:
        return S(f, self.n)

    def marginal(self, abar: sp.Expr = ab) -> sp.Expr:
        return marginal(abar, self.n)

    def posterior_mean(self, f: Callable[[sp.Expr], sp.Expr], abar: sp.Expr = ab) -> sp.Expr:
        return posterior_mean(f, abar, self.n)

    def score(self, abar: sp.Expr = ab) -> sp.Expr:
        return score(abar, self.n)


#: the law with three atoms
LAW3 = Atoms(THREE)
