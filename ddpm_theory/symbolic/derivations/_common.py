"""Building blocks shared by the derivation modules (not derivations themselves)."""

from __future__ import annotations

import sympy as sp

from ..citation import Citation

HO = "Ho et al. 2020"
HW = "Sahai et al. (homework)"


def cite(source: str, where: str = "") -> Citation:
    return Citation(source, where)


def gaussian_logpdf(x: sp.Expr, mean: sp.Expr, var: sp.Expr) -> sp.Expr:
    """log N(x; mean, var), written out (the premise every derivation starts from)."""
    return -sp.log(2 * sp.pi * var) / 2 - (x - mean) ** 2 / (2 * var)


def gaussian_log_cf(mean: sp.Expr, var: sp.Expr, s: sp.Expr) -> sp.Expr:
    """log of the characteristic function E[exp(i s X)] of X ~ N(mean, var)."""
    return sp.I * mean * s - var * s**2 / 2


def coefficients(expr: sp.Expr, x: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    """(A, B) with expr = −A/2 x² + B x + const(x): read off a quadratic in x."""
    poly = sp.Poly(sp.expand(expr), x)
    if poly.degree() != 2:
        raise ValueError(f"expected a quadratic in {x}, got degree {poly.degree()}")
    return sp.together(-2 * poly.coeff_monomial(x**2)), sp.together(poly.coeff_monomial(x))
