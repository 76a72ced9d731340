"""Assumptions a user states for a check: ``beta_t < 0.02``, ``0.1 <= alpha_t <= 0.5``.

Each narrows the declared domain of one symbol (never widens it).  A symbol that the
engine writes out by a definition linear in one other symbol (β_t = 1 − α_t) is narrowed
through it: ``beta_t < 0.02`` becomes α_t ∈ (0.98, 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp

from ..domains import Domain
from ..symbolic.notation import DEFINITIONS, domain_of
from .parse import ParseError, caret, parse_expression, split_relation

__all__ = ["AssumptionError", "Assumption", "parse_assumption"]


class AssumptionError(ParseError):
    """An assumption that cannot be used (not a bound on one symbol, or empty)."""


@dataclass(frozen=True)
class Assumption:
    """``symbol`` lies in (lo, hi) (ends closed where ``*_closed``), as the user wrote it."""

    text: str
    symbol: sp.Symbol
    lo: float = -math.inf
    hi: float = math.inf
    lo_closed: bool = False
    hi_closed: bool = False

    def narrow(self, base: Domain | None = None) -> Domain:
        """The symbol's domain (or ``base``) intersected with this bound."""
        dom = base or domain_of(self.symbol)
        lo, lo_open = dom.lo, dom.lo_open
        if self.lo > lo or (self.lo == lo and not self.lo_closed):
            lo, lo_open = self.lo, not self.lo_closed
        hi, hi_open = dom.hi, dom.hi_open
        if self.hi < hi or (self.hi == hi and not self.hi_closed):
            hi, hi_open = self.hi, not self.hi_closed
        if lo > hi or (lo == hi and (lo_open or hi_open)):
            raise AssumptionError(
                f"assumption {self.text!r} leaves nothing of {self.symbol}'s domain "
                f"{dom.interval_text()}")
        if dom.integer and math.isfinite(hi) and hi != dom.hi:
            raise AssumptionError(f"assumption {self.text!r}: an integer symbol takes a lower "
                                  "bound only (the check samples it upwards from there)")
        name = dom.name if dom.name.endswith("|assumed") else dom.name + "|assumed"
        return Domain(name, lo, hi, lo_open, hi_open, dom.integer,
                      f"{dom.description}, assuming {self.text}")


def _number(e: sp.Expr, text: str) -> float:
    if e.free_symbols:
        raise AssumptionError(f"assumption {text!r}: one side must be a number, got {e}")
    return float(e)


def parse_assumption(text: str) -> Assumption:
    """``SYMBOL op NUMBER``, ``NUMBER op SYMBOL`` or ``NUMBER op SYMBOL op NUMBER``."""
    ops = split_relation(text)
    if not ops or len(ops) > 2 or any(op in ("=", "==") for _, op in ops):
        raise AssumptionError(caret(text, ops[0][0] if ops else len(text),
                                    "an assumption bounds one symbol: 'beta_t < 0.02', "
                                    "'0.1 <= alpha_t <= 0.5'"))
    cuts = [0] + [p for p, _ in ops] + [len(text)]
    pieces = [text[cuts[0]:cuts[1]]] + [text[p + len(op):nxt] for (p, op), nxt
                                        in zip(ops, cuts[2:])]
    exprs = [parse_expression(s, text) for s in pieces]
    syms = [i for i, e in enumerate(exprs) if isinstance(e, sp.Symbol)]
    if len(syms) != 1:
        raise AssumptionError(f"assumption {text!r} must bound exactly one symbol of the "
                              "notation by numbers")
    k, symbol = syms[0], exprs[syms[0]]
    lo, hi, lo_c, hi_c = -math.inf, math.inf, False, False
    for i, (_, op) in enumerate(ops):
        left, right = exprs[i], exprs[i + 1]
        less = op in ("<", "<=", "≤", "\\le", "\\leq", "\\leqslant")
        closed = op not in ("<", ">")
        if i + 1 == k:   # number op symbol
            bound = _number(left, text)
            if less:
                lo, lo_c = bound, closed
            else:
                hi, hi_c = bound, closed
        else:            # symbol op number
            bound = _number(right, text)
            if less:
                hi, hi_c = bound, closed
            else:
                lo, lo_c = bound, closed
    assert isinstance(symbol, sp.Symbol)
    return _through_definition(Assumption(text, symbol, lo, hi, lo_c, hi_c))


def _through_definition(a: Assumption) -> Assumption:
    """A bound on a symbol the engine defines as c + k u becomes a bound on u."""
    if a.symbol not in DEFINITIONS:
        return a
    defn = DEFINITIONS[a.symbol]
    free = list(defn.free_symbols)
    poly = sp.Poly(defn, *free) if len(free) == 1 else None
    if poly is None or poly.total_degree() != 1:
        raise AssumptionError(
            f"assumption {a.text!r}: {a.symbol} is defined as {defn}, which the check "
            "writes out; state the bound on the symbols of that definition instead")
    u = free[0]
    k, c = float(poly.coeff_monomial(u)), float(poly.coeff_monomial(1))
    lo, hi = (a.lo - c) / k, (a.hi - c) / k
    if k > 0:
        return Assumption(a.text, u, lo, hi, a.lo_closed, a.hi_closed)
    return Assumption(a.text, u, hi, lo, a.hi_closed, a.lo_closed)
