"""Unevaluated Gaussian expectations and the two independent ways to evaluate them.

``GaussE(f, x, m, v)`` stands for :math:`\\mathbb E_{x\\sim\\mathcal N(m, v)}[f]` and
``MvGaussE(f, (x_1..x_d), mu, Sigma)`` for its multivariate form.  They let a
derivation write an expectation *as a step* and then evaluate it in a later step.

* Symbolically (:func:`evaluate_expectations`), by the moment rule: for a polynomial
  integrand, E[x^k] follows the recursion M_k = m M_{k−1} + (k−1) v M_{k−2}
  (M_0 = 1, M_1 = m); multivariate integrands of degree ≤ 2 use
  E[x_i] = μ_i, E[x_i x_j] = Σ_ij + μ_i μ_j.
* Numerically (:func:`gauss_hermite_rule`), by Gauss–Hermite quadrature at 50 digits
  (nodes from the Golub–Welsch eigenproblem), exact for polynomials of degree
  < 2n and independent of the moment rule, so the two check each other.
"""

from __future__ import annotations

from functools import lru_cache

import mpmath
import sympy as sp

__all__ = [
    "GaussE",
    "MvGaussE",
    "evaluate_expectations",
    "gaussian_raw_moment",
    "gauss_hermite_rule",
]


class GaussE(sp.Function):
    """E_{x ~ N(mean, var)}[expr]; the integration variable ``x`` is bound."""

    nargs = 4

    @classmethod
    def eval(cls, expr, x, mean, var):  # noqa: D102 - stays unevaluated
        if not isinstance(x, sp.Symbol):
            raise TypeError("GaussE: the integration variable must be a Symbol")
        return None

    @property
    def free_symbols(self):  # the bound variable is not free
        expr, x, mean, var = self.args
        return (expr.free_symbols - {x}) | mean.free_symbols | var.free_symbols

    def doit(self, **hints):
        return _moment_rule(self.args[0].doit(**hints), *self.args[1:])

    def _latex(self, printer, exp=None, **kwargs):
        expr, x, mean, var = self.args
        xs, ms, vs, es = (printer._print(a) for a in (x, mean, var, expr))
        tex = rf"\mathbb{{E}}_{{{xs}\sim\mathcal{{N}}({ms},\,{vs})}}\left[{es}\right]"
        return rf"\left({tex}\right)^{{{exp}}}" if exp is not None else tex


class MvGaussE(sp.Function):
    """E_{x ~ N(mu, Sigma)}[expr] for a vector ``x`` (a Tuple of Symbols)."""

    nargs = 4

    @classmethod
    def eval(cls, expr, xs, mean, cov):  # noqa: D102
        return None

    @property
    def free_symbols(self):
        expr, xs, mean, cov = self.args
        return (expr.free_symbols - set(xs)) | mean.free_symbols | cov.free_symbols

    def doit(self, **hints):
        expr, xs, mean, cov = self.args
        return _mv_moment_rule(expr.doit(**hints), list(xs), sp.Matrix(mean), sp.Matrix(cov))

    def _latex(self, printer, exp=None, **kwargs):
        expr, xs, mean, cov = self.args
        es = printer._print(expr)
        law = r"\mathbf{x}\sim\mathcal{N}(\boldsymbol\mu,\,\Sigma)"
        tex = rf"\mathbb{{E}}_{{{law}}}\left[{es}\right]"
        return rf"\left({tex}\right)^{{{exp}}}" if exp is not None else tex


def gaussian_raw_moment(k: int, mean: sp.Expr, var: sp.Expr) -> sp.Expr:
    """E[x^k] for x ~ N(mean, var), by M_k = m M_{k-1} + (k-1) v M_{k-2}."""
    prev, cur = sp.Integer(1), mean
    if k == 0:
        return prev
    for j in range(2, k + 1):
        prev, cur = cur, sp.expand(mean * cur + (j - 1) * var * prev)
    return cur


def _moment_rule(expr: sp.Expr, x: sp.Symbol, mean: sp.Expr, var: sp.Expr) -> sp.Expr:
    expr = evaluate_expectations(expr)
    poly = sp.Poly(sp.expand(expr), x)
    if any(not c.is_polynomial(x) for c in poly.coeffs()) or poly.free_symbols_in_domain & {x}:
        raise NotImplementedError(f"moment rule needs a polynomial integrand in {x}: {expr}")
    return sp.Add(
        *[c * gaussian_raw_moment(m[0], mean, var) for m, c in zip(poly.monoms(), poly.coeffs())]
    )


def _mv_moment_rule(expr: sp.Expr, xs: list[sp.Symbol], mean: sp.Matrix, cov: sp.Matrix) -> sp.Expr:
    expr = evaluate_expectations(expr)
    poly = sp.Poly(sp.expand(expr), *xs)
    if poly.total_degree() > 2:
        raise NotImplementedError("multivariate moment rule is implemented for degree <= 2")
    out = sp.Integer(0)
    for monom, c in zip(poly.monoms(), poly.coeffs()):
        idx = [i for i, k in enumerate(monom) for _ in range(k)]
        if not idx:
            out += c
        elif len(idx) == 1:
            out += c * mean[idx[0]]
        else:
            i, j = idx
            out += c * (cov[i, j] + mean[i] * mean[j])
    return out


#: moment-rule value of each expectation met so far: a pure function of the expression
#: (consecutive steps share their expressions, so each is worked out once per process)
_VALUES: dict[sp.Basic, sp.Basic] = {}
_VALUES_MAX = 4096


def _value(a: sp.Basic) -> sp.Basic:
    if a not in _VALUES:
        if len(_VALUES) >= _VALUES_MAX:
            _VALUES.clear()
        _VALUES[a] = a.doit()  # an integrand the rule cannot take raises, never cached
    return _VALUES[a]


def evaluate_expectations(expr: sp.Basic) -> sp.Basic:
    """Replace every (nested) Gaussian expectation by its moment-rule value."""
    atoms = [a for a in expr.atoms(GaussE, MvGaussE)]
    if not atoms:
        return expr
    return expr.xreplace({a: _value(a) for a in atoms})


@lru_cache(maxsize=8)
def gauss_hermite_rule(n: int = 16, dps: int = 60) -> tuple[tuple, tuple]:
    """Nodes and weights of the n-point probabilists' Gauss–Hermite rule.

    E[f(Z)], Z ~ N(0, 1), is approximated by sum w_i f(z_i), exactly for
    polynomials of degree < 2n.  Computed by Golub–Welsch at ``dps`` digits.
    """
    with mpmath.workdps(dps):
        J = mpmath.zeros(n, n)
        for k in range(1, n):
            J[k - 1, k] = J[k, k - 1] = mpmath.sqrt(k)
        evals, evecs = mpmath.eigsy(J)
        nodes = tuple(evals[i] for i in range(n))
        weights = tuple(evecs[0, i] ** 2 for i in range(n))
    return nodes, weights
