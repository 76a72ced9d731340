"""LaTeX for derivation pages: expressions, relations, symbol domains, counterexamples."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import sympy as sp

from ..domains import Domain
from ..symbolic import notation
from ..symbolic.engine import Derivation, Part, Relation, Step

__all__ = [
    "expr_latex",
    "start_latex",
    "step_latex",
    "relation_latex",
    "domain_latex",
    "symbol_latex",
    "derivation_symbols",
    "short_number",
    "split_statement",
]

#: how a step's expression relates to the previous one, as a LaTeX relation symbol
_RELATIONS: dict[Relation, str] = {
    Relation.EQ: "=",
    Relation.EQ_CONST: r"\overset{c}{=}",
    Relation.LE: r"\le",
    Relation.GE: r"\ge",
}


def expr_latex(expr: Any) -> str:
    """SymPy LaTeX with the notation's symbol names (``notation.LATEX``)."""
    return sp.latex(expr, symbol_names=notation.LATEX)


def start_latex(part: Part) -> str:
    return part.start_latex or expr_latex(part.start)


def step_latex(step: Step) -> str:
    return step.latex or expr_latex(step.expr)


def relation_latex(step: Step) -> str:
    return _RELATIONS[step.relation]


def symbol_latex(s: sp.Basic) -> str:
    return notation.LATEX.get(s) or sp.latex(s)


def _end(x: float) -> str:
    if math.isinf(x):
        return r"\infty" if x > 0 else r"-\infty"
    return f"{x:g}"


def domain_latex(dom: Domain) -> str:
    """The domain as a LaTeX set: ``(0, 1]``, ``\\{1, 2, 3, \\dots\\}``, ``\\mathbb{R}``."""
    if dom.integer:
        lo = math.ceil(dom.lo) if not dom.lo_open else math.floor(dom.lo) + 1
        if math.isinf(dom.hi):
            return rf"\{{{lo}, {lo + 1}, {lo + 2}, \dots\}}"
        hi = math.floor(dom.hi) if not dom.hi_open else math.ceil(dom.hi) - 1
        return rf"\{{{lo}, \dots, {hi}\}}"
    if math.isinf(dom.lo) and math.isinf(dom.hi):
        return r"\mathbb{R}"
    left = "(" if dom.lo_open or math.isinf(dom.lo) else "["
    right = ")" if dom.hi_open or math.isinf(dom.hi) else "]"
    return f"{left}{_end(dom.lo)}, {_end(dom.hi)}{right}"


def _flat(e: Any) -> Iterable[Any]:
    if isinstance(e, sp.MatrixBase):
        yield from e
    elif isinstance(e, (tuple, list, sp.Tuple)):
        for x in e:
            yield from _flat(x)
    elif isinstance(e, sp.Basic):
        yield e


def derivation_symbols(d: Derivation) -> list[tuple[sp.Symbol, Domain]]:
    """Every free symbol of the derivation's expressions with its declared domain
    (``Derivation.domains`` first, then the notation's), sorted by name."""
    found: set[sp.Symbol] = set()
    for part in d.parts:
        exprs = [part.start, *(s.expr for s in part.steps), *(s.gap for s in part.steps)]
        for e in exprs:
            for x in _flat(e):
                found |= {s for s in x.free_symbols if isinstance(s, sp.Symbol)}
    doms: Mapping[sp.Basic, Domain] = d.domains
    return [(s, doms.get(s) or notation.domain_of(s)) for s in sorted(found, key=str)]


def split_statement(latex: str, width: int = 110) -> str:
    """A long statement broken into centred lines at its top-level ``\\quad`` separators
    (MathJax 3 does not break lines itself); short statements are returned unchanged."""
    if len(latex) <= width:
        return latex
    pieces, depth, start, i = [], 0, 0, 0
    while i < len(latex):
        c = latex[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0 and latex.startswith(r"\quad", i) and not latex[i + 5:i + 6].isalpha():
            piece = latex[start:i].rstrip().rstrip(",").rstrip(r"\,").rstrip()
            pieces.append(piece)
            start = i + len(r"\quad")
        elif depth == 0 and latex.startswith(r"\qquad", i):
            pieces.append(latex[start:i].rstrip().rstrip(","))
            start = i + len(r"\qquad")
            i += len(r"\qquad") - 1
        i += 1
    pieces.append(latex[start:])
    pieces = [p.strip() for p in pieces if p.strip()]
    if len(pieces) < 2:
        return latex
    return r"\begin{gathered}" + r" \\ ".join(pieces) + r"\end{gathered}"


def short_number(text: str, digits: int = 10) -> str:
    """A 50-digit number as text, shortened to ``digits`` significant digits for display
    (anything that is not a real number is returned unchanged)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return text
    return f"{value:.{digits}g}"
