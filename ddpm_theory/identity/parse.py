"""Parse ``LHS = RHS`` (or ``<=``, ``>=``) written in plain SymPy syntax or in LaTeX.

Plain syntax uses the notation's names (``beta_t``, ``alphabar_tm1``, ``SNR(t-1)``;
``^`` means a power); LaTeX (any input with a backslash) uses the notation as the docs
print it (``\\bar\\alpha_{t-1}``, ``\\tilde\\beta_t``, ``\\sigma_t^2``,
``\\mathrm{SNR}(t)``).  LaTeX is read by SymPy's LaTeX parser (ANTLR backend) after the
notation's decorated symbols are replaced by plain tokens.  Every symbol of the result is
the notation's own (:mod:`ddpm_theory.identity.names`); an unknown name raises
:class:`~ddpm_theory.identity.names.UnknownSymbolError` listing close names, and a
syntax error raises :class:`ParseError` pointing at the character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from tokenize import TokenError

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.parsing.sympy_parser import (
    convert_xor,
    implicit_multiplication,
    parse_expr,
    standard_transformations,
)

from ..symbolic.expectation import GaussE
from .names import SNR_PREV, SNR_T, UnknownSymbolError, lookup

__all__ = ["ParseError", "ParsedRelation", "parse_relation", "parse_expression", "RELATIONS"]


class ParseError(ValueError):
    """Input that cannot be read; the message shows the text with a caret."""


#: written operator -> canonical one
RELATIONS: dict[str, str] = {
    "<=": "<=", ">=": ">=", "==": "=", "≤": "<=", "≥": ">=", "\\leqslant": "<=",
    "\\geqslant": ">=", "\\leq": "<=", "\\geq": ">=", "\\le": "<=", "\\ge": ">=", "=": "=",
    "<": "<", ">": ">",
}
_OPS = sorted(RELATIONS, key=len, reverse=True)


@dataclass(frozen=True)
class ParsedRelation:
    text: str
    lhs: sp.Expr
    op: str            # "=", "<=", ">=", "<", ">"
    rhs: sp.Expr
    latex: bool


def caret(text: str, pos: int, message: str) -> str:
    """``message`` with ``text`` and a caret under character ``pos`` (0-based)."""
    pos = max(0, min(pos, len(text)))
    return f"{message}\n  {text}\n  {' ' * pos}^ (character {pos + 1})"


def split_relation(text: str) -> list[tuple[int, str]]:
    """(position, operator) of every relation operator outside brackets."""
    found, depth, i = [], 0, 0
    while i < len(text):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0:
            op = next((o for o in _OPS if text.startswith(o, i)), None)
            if op and op.startswith("\\") and text[i + len(op): i + len(op) + 1].isalpha():
                op = None  # \left, \leftarrow, ...
            if op:
                found.append((i, op))
                i += len(op)
                continue
        i += 1
    return found


def parse_relation(text: str) -> ParsedRelation:
    """One relation ``LHS op RHS`` with op one of =, <=, >=, <, > (or ≤, ≥, \\le, \\ge)."""
    if not text.strip():
        raise ParseError("empty input: write an identity such as 'alpha_t = 1 - beta_t'")
    ops = split_relation(text)
    if not ops:
        raise ParseError(caret(text, len(text), "no relation: write LHS = RHS, LHS <= RHS or "
                                                "LHS >= RHS"))
    if len(ops) > 1:
        raise ParseError(caret(text, ops[1][0], "more than one relation: check one at a time"))
    pos, op = ops[0]
    latex = "\\" in text
    lhs = parse_expression(text[:pos], text, 0, latex)
    rhs = parse_expression(text[pos + len(op):], text, pos + len(op), latex)
    return ParsedRelation(text, lhs, RELATIONS[op], rhs, latex)


def parse_expression(side: str, full: str | None = None, offset: int = 0,
                     latex: bool | None = None) -> sp.Expr:
    """One side, as an expression over the notation's symbols."""
    full = side if full is None else full
    if not side.strip():
        raise ParseError(caret(full, offset, "a side of the relation is empty"))
    latex = "\\" in side if latex is None else latex
    raw = _parse_latex(side, full, offset) if latex else _parse_plain(side, full, offset)
    return _resolve(raw)


# -- plain SymPy syntax ------------------------------------------------------------
_UNICODE = [("−", "-"), ("·", "*"), ("×", "*"), ("²", "**2"), ("√", "sqrt"),
            ("ᾱ_{t-1}", "alphabar_tm1"), ("ᾱ_{t−1}", "alphabar_tm1"), ("ᾱ_t", "alphabar_t"),
            ("β̃_t", "betatilde_t"), ("σ_t**2", "sigma2_t"), ("ε_θ", "epsilon_theta"),
            ("α_t", "alpha_t"), ("β_t", "beta_t"), ("ε", "epsilon")]


def _snr(arg: sp.Expr) -> sp.Expr:
    t = lookup("t").value
    arg = _resolve(sp.sympify(arg))
    if sp.simplify(arg - t) == 0:
        return SNR_T
    if sp.simplify(arg - (t - 1)) == 0:
        return SNR_PREV
    raise ParseError(f"SNR({arg}) is not in the notation: write SNR(t) or SNR(t-1)")


_GLOBALS: dict = {name: getattr(sp, name) for name in (
    "Integer", "Float", "Rational", "Symbol", "Function", "sqrt", "log", "exp", "Abs", "pi",
    "Max", "Min", "oo")}
_GLOBALS["SNR"] = _snr
_GLOBALS["GaussE"] = GaussE  # E_{x ~ N(mean, var)}[f] as GaussE(f, x, mean, var)
_GLOBALS["__builtins__"] = {}


def _parse_plain(side: str, full: str, offset: int) -> sp.Expr:
    text = side
    for a, b in _UNICODE:
        text = text.replace(a, b)
    transforms = standard_transformations + (convert_xor, implicit_multiplication)
    try:
        return parse_expr(text, local_dict={}, global_dict=dict(_GLOBALS),
                          transformations=transforms, evaluate=True)
    except ParseError:
        raise
    except TokenError:
        pos, what = _unbalanced(side)
        raise ParseError(caret(full, offset + pos, what)) from None
    except SyntaxError as exc:
        col, msg = _syntax_position(text, exc)
        shown = full if text == side else text
        at = offset + col if text == side else col
        raise ParseError(caret(shown, at, f"cannot parse: {msg}")) from None
    except (TypeError, ValueError, NameError, AttributeError) as exc:
        raise ParseError(caret(full, offset, f"cannot parse {side.strip()!r}: {exc}")) from None


def _syntax_position(text: str, exc: SyntaxError) -> tuple[int, str]:
    """Where Python's own parser stops in ``text`` (parse_expr's offset is in the code it
    generates, not in the input)."""
    import ast

    try:
        ast.parse("(" + text + "\n)", mode="eval")
    except SyntaxError as own:
        return max((own.offset or 2) - 2, 0), own.msg
    return max((exc.offset or 1) - 1, 0), exc.msg or "invalid syntax"


def _unbalanced(text: str) -> tuple[int, str]:
    stack = []
    for i, c in enumerate(text):
        if c in "([{":
            stack.append(i)
        elif c in ")]}":
            if not stack:
                return i, f"an unmatched {c!r}"
            stack.pop()
    return (stack[-1], "an unclosed bracket") if stack else (len(text), "unbalanced brackets")


# -- LaTeX -------------------------------------------------------------------------
_SUB_T = r"\s*_\s*(?:\{\s*t\s*\}|t)"
_SUB_TM1 = r"\s*_\s*\{\s*t\s*(?:-|−)\s*1\s*\}"
_DECOR = r"\\{d}\s*(?:\{{\s*\\{s}\s*\}}|\\{s})"
_SNR = (r"\\(?:mathrm|operatorname|text)\s*\{\s*SNR\s*\}\s*(?:\\left)?\(\s*t\s*"
        + "{rest}" + r"(?:\\right)?\)")
_LATEX_TOKENS: list[tuple[str, str]] = [
    (_DECOR.format(d="bar", s="alpha") + _SUB_TM1, "alphabar_tm1"),
    (_DECOR.format(d="bar", s="alpha") + _SUB_T, "alphabar_t"),
    (_DECOR.format(d="tilde", s="beta") + _SUB_T, "betatilde_t"),
    (_DECOR.format(d="tilde", s="mu") + _SUB_T
     + r"(?:\s*(?:\\left)?\(\s*x_\{?t\}?\s*,\s*x_\{?0\}?\s*(?:\\right)?\))?", "mutilde_t"),
    (r"\\sigma" + _SUB_T + r"\s*\^\s*(?:\{\s*2\s*\}|2)", "sigma2_t"),
    (r"\\sigma\s*\^\s*(?:\{\s*2\s*\}|2)" + _SUB_T, "sigma2_t"),
    (r"\\(?:var)?epsilon\s*_\s*(?:\{\s*\\theta\s*\}|\\theta)", "epsilon_theta"),
    (r"\\mu\s*_\s*(?:\{\s*\\theta\s*\}|\\theta)", "mu_theta"),
    (r"\\hat\s*(?:\{\s*x\s*\}|x)\s*_\s*(?:\{\s*0\s*\}|0)", "xhat_0"),
    (_SNR.replace("{rest}", r"(?:-|−)\s*1\s*"), "SNR_tm1"),
    (_SNR.replace("{rest}", ""), "SNR_t"),
    (r"\\varepsilon", "epsilon"),
]


def _placeholder(i: int) -> str:
    return "ZQ" + "".join(chr(ord("a") + int(c)) for c in str(i))


def _parse_latex(side: str, full: str, offset: int) -> sp.Expr:
    try:
        from sympy.parsing.latex import LaTeXParsingError, parse_latex
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise ParseError(f"LaTeX input needs SymPy's LaTeX parser: {exc}") from None
    text, tokens = side, {}
    for i, (pattern, name) in enumerate(_LATEX_TOKENS):
        ph = _placeholder(i)
        text, count = re.subn(pattern, r"\\mathit{" + ph + "}", text)
        if count:
            tokens[ph] = name
    try:
        expr = parse_latex(text)
    except (LaTeXParsingError, ImportError, TypeError) as exc:
        msg = str(exc).strip()
        raise ParseError(f"cannot parse the LaTeX {side.strip()!r} (in {full!r}):\n{msg}"
                         ) from None
    return expr.xreplace({sp.Symbol(ph): sp.Symbol(name) for ph, name in tokens.items()})


def _latex_name(name: str) -> str:
    """'alpha_{t - 1}' -> 'alpha_t-1', 'x_{0}' -> 'x_0', 'epsilon_{theta}' -> 'epsilon_theta'."""
    return re.sub(r"[{}\s\\]", "", name)


# -- names -> the notation ---------------------------------------------------------
def _known(name: str) -> bool:
    try:
        lookup(name)
    except UnknownSymbolError:
        return False
    return True


def _resolve(expr: sp.Basic) -> sp.Expr:
    if isinstance(expr, sp.core.relational.Relational):
        raise ParseError(f"{expr} is a relation inside a side; write one relation")
    # "\\alpha_t(1 - \\bar\\alpha_t)" is a product in the notation, not a function call
    calls = {f: sp.Symbol(type(f).__name__) * f.args[0] for f in expr.atoms(AppliedUndef)
             if len(f.args) == 1 and _known(_latex_name(type(f).__name__))}
    while calls:
        expr = expr.xreplace(calls)
        calls = {f: sp.Symbol(type(f).__name__) * f.args[0] for f in expr.atoms(AppliedUndef)
                 if len(f.args) == 1 and _known(_latex_name(type(f).__name__))}
    bad = expr.atoms(AppliedUndef)
    if bad:
        names = ", ".join(sorted({type(f).__name__ for f in bad}))
        raise UnknownSymbolError(
            f"unknown function {names}: a check is over the notation's quantities only "
            "(SNR(t), SNR(t-1), sqrt, log, exp, Abs are known)")
    mapping = {}
    for s in expr.free_symbols:
        name = s.name if s.name in ("t", "T", "d") else _latex_name(s.name)
        mapping[s] = lookup(name).value
    return sp.sympify(expr.xreplace(mapping))


__all__ += ["caret", "split_relation", "UnknownSymbolError"]
