"""Sums and products with numeric limits, written out under the usual convention.

SymPy's ``Sum.doit`` follows Karr's convention, under which Σ_{k=3}^{1} f(k) = −f(2); the
textbooks (and every derivation here) mean the *empty* sum, 0, and the empty product, 1.
Both lines of the engine write sums out through :func:`write_out`, never through
``doit``, so neither inherits Karr's convention.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["write_out", "write_out_all"]


def write_out(a: sp.Basic) -> sp.Basic:
    """Σ_{k=lo}^{hi} f or Π_{k=lo}^{hi} f with integer limits as an explicit sum or
    product; hi < lo gives 0 (sum) or 1 (product)."""
    (var, lo, hi), *rest = a.limits
    if not (lo.is_Integer and hi.is_Integer):
        raise ValueError(f"write_out needs integer limits, got {lo} .. {hi}")
    terms = [a.function.xreplace({var: sp.Integer(k)}) for k in range(int(lo), int(hi) + 1)]
    out = sp.Add(*terms) if isinstance(a, sp.Sum) else sp.Mul(*terms)
    if rest:
        out = type(a)(out, *rest)
        return write_out(out) if all(x.is_Integer for x in rest[0][1:]) else out
    return out


def write_out_all(expr: sp.Basic) -> sp.Basic:
    """Every sum and product of ``expr`` whose limits are integers, written out."""
    return expr.replace(
        lambda a: isinstance(a, (sp.Sum, sp.Product))
        and all(x.is_Integer for x in a.limits[0][1:]),
        write_out,
    )
