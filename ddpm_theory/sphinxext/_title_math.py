"""Mathematics in derivation and part titles, rendered.

Titles are plain strings written with Unicode mathematics (``q(x_{t−1} | x_t, x_0)``,
``C_t ≥ 0``, ``The conditional score is −ε/√(1 − ᾱ_t)``). :func:`title_nodes` splits a
title into text and inline-math nodes: a run of mathematical tokens becomes one formula,
translated to LaTeX by :func:`to_latex`; words stay text. A run is mathematical when it
holds a *strong* token (a sub- or superscript, a Greek letter or another mathematical
sign, or a function applied with a parenthesis), or a single letter beside a relation
(``T = 2``, ``t − 1 → t``).
"""

from __future__ import annotations

import re

from docutils import nodes

__all__ = ["title_nodes", "to_latex", "split_title", "rule_nodes", "piece_latex"]

_GREEK = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\epsilon",
    "θ": r"\theta", "λ": r"\lambda", "μ": r"\mu", "π": r"\pi", "σ": r"\sigma",
    "ω": r"\omega", "τ": r"\tau", "φ": r"\phi", "ψ": r"\psi", "ρ": r"\rho",
    "ν": r"\nu", "η": r"\eta", "κ": r"\kappa", "ξ": r"\xi", "Φ": r"\Phi",
    "Σ": r"\sum", "ᾱ": r"\bar\alpha",
}
_SIGNS = {"−": "-", "‖": r"\| ", "≥": r"\ge ", "≤": r"\le ", "→": r"\to ", "∞": r"\infty ",
          "~": r"\sim ", "∏": r"\prod", "·": r"\cdot ", "∇": r"\nabla ", "∂": r"\partial ",
          "∫": r"\int ", "≈": r"\approx ", "×": r"\times ", "…": r"\dots ", "½": r"\tfrac12 "}
_SUPER = {"²": "2", "³": "3"}
_SUB = {"₀": "0", "₁": "1", "₂": "2", "ₜ": "t"}
_FUNCS = {"log": r"\log ", "exp": r"\exp "}
_STRONG = re.compile(r"[_^²³₀₁₂ₜ√‖≥≤→∞∏ᾱ\u0302\u0303αβγδεθλμπσωτφψρνηκξΦΣ∇∂∫]"
                     r"|^[−-]?[A-Za-z]+\(|^[A-Za-z]+\[")
_RELATION = {"=", "≥", "≤", "→", "~", "−", "+", "|", "‖", "·"}
_TRAIL = ":,;."


def _is_mathish(tok: str) -> bool:
    core = tok.rstrip(_TRAIL)
    if not core or re.fullmatch(r"\([a-z]{2,}\)", core):  # "(claimed)" is a word
        return False
    if core.lstrip("−") in _FUNCS:  # "−log"
        return True
    if _STRONG.search(core) or core in _RELATION or core in _FUNCS:
        return True
    if re.fullmatch(r"[−-]?[0-9]+|[A-Za-z]|\(?[A-Za-z0-9]+[)\]]+", core):
        return True  # numbers, single letters, closing pieces such as "I)" or "X)"
    return bool(re.fullmatch(r"[A-Z]{2,}", core))  # KL, SNR, ELBO: only beside a relation


def _strong(tok: str) -> bool:
    return bool(_STRONG.search(tok.rstrip(_TRAIL)))


def split_title(title: str) -> list[tuple[bool, str]]:
    """``[(is_math, piece), ...]`` covering ``title``; math pieces are still Unicode."""
    toks = re.split(r"(\s+)", title)
    words: list[tuple[bool, str]] = []
    for tok in toks:
        m = re.fullmatch(r"(.*[_₀₁₂ₜ][0-9A-Za-z{}]*|[εᾱ])(-[a-z]{2,}.*)", tok)
        if m:  # "x_0-weight", "ε-form": the symbol is math, the rest a word
            words += [(True, m.group(1)), (False, m.group(2))]
        elif tok.isspace() or not tok:
            words.append((False, tok))
        else:
            words.append((_is_mathish(tok), tok))
    return _merge(words)


def _merge(words: list[tuple[bool, str]]) -> list[tuple[bool, str]]:
    out: list[tuple[bool, str]] = []
    run: list[str] = []

    def flush() -> None:
        if not run:
            return
        text = "".join(run)
        core = text.strip()
        trail = core[len(core.rstrip(_TRAIL)):]
        core = core[: len(core) - len(trail)] if trail else core
        pieces = core.split()
        head: list[str] = []
        while pieces and pieces[0] in _RELATION - {"−"}:
            head.append(pieces.pop(0))
        tail: list[str] = []
        while pieces and pieces[-1] in _RELATION:
            tail.insert(0, pieces.pop())
        mathy = any(_strong(p) for p in pieces) or (
            len(pieces) >= 3 and any(p in _RELATION for p in pieces))
        lead = text[: len(text) - len(text.lstrip())]
        if mathy and pieces:
            formula = core.strip()
            for h in head:
                formula = formula[len(h):].lstrip()
            for t in reversed(tail):
                formula = formula[: len(formula) - len(t)].rstrip()
            out.append((False, lead + "".join(h + " " for h in head)))
            out.append((True, formula))
            out.append((False, "".join(" " + t for t in tail) + trail
                        + text[len(text.rstrip()):]))
        else:
            out.append((False, text))
        run.clear()

    def depth() -> int:
        joined = "".join(run)
        return sum(joined.count(c) for c in "([{") - sum(joined.count(c) for c in ")]}")

    for is_math, w in words:
        if w.isspace() and run:
            run.append(w)
        elif is_math:
            run.append(w)
            if w.rstrip() != w.rstrip().rstrip(_TRAIL) and depth() <= 0:
                flush()  # "I):" ends the formula; "q(x_t," inside parentheses does not
        else:
            flush()
            out.append((False, w))
    flush()
    merged: list[tuple[bool, str]] = []
    for m, s in out:
        if merged and not m and not merged[-1][0]:
            merged[-1] = (False, merged[-1][1] + s)
        elif s:
            merged.append((m, s))
    return merged


def _sqrt(s: str) -> str:
    """√(…) → \\sqrt{…}; √ followed by one symbol (with its subscript) → \\sqrt{symbol}."""
    while "√" in s:
        i = s.index("√")
        if s[i + 1:i + 2] == "(":
            depth, j = 0, i + 1
            for j in range(i + 1, len(s)):
                depth += {"(": 1, ")": -1}.get(s[j], 0)
                if depth == 0:
                    break
            s = s[:i] + r"\sqrt{" + s[i + 2:j] + "}" + s[j + 1:]
        else:
            m = re.match(r"√(\\[a-z]+(?:\\[a-z]+)?|[A-Za-z0-9])(_(?:\{[^}]*\}|[A-Za-z0-9]))?",
                         s[i:])
            if m is None:
                s = s[:i] + r"\sqrt{}" + s[i + 1:]
                continue
            s = s[:i] + r"\sqrt{" + m.group(1) + (m.group(2) or "") + "}" + s[i + len(m[0]):]
    return s


def to_latex(math: str) -> str:
    """Unicode mathematics of a title → LaTeX for MathJax."""
    s = re.sub(r"([βμ])\u0303", lambda m: r"\tilde" + _GREEK[m.group(1)] + " ", math)
    s = re.sub(r"([a-z])\u0302", r"\\hat \1", s)
    s = s.replace("*²", "^{*2}")
    for k, v in _SUPER.items():
        s = s.replace(k, "^" + v)
    for k, v in _SUB.items():
        s = s.replace(k, "_" + v)
    for k, v in {**_GREEK, **_SIGNS}.items():
        s = s.replace(k, v + (" " if v[-1].isalpha() else ""))
    s = re.sub(r"_([A-Za-z]{2,})", r"_{\\mathrm{\1}}", s)  # L_simple
    s = re.sub(r"(?<![\\A-Za-z])(log|exp)(?![A-Za-z])", lambda m: _FUNCS[m.group(1)], s)
    s = re.sub(r"(?<![\\A-Za-z{])([A-Za-z]{2,})(?=\(|\s|$|\))",
               lambda m: m.group(1) if m.group(1) in ("log", "exp") else
               rf"\mathrm{{{m.group(1)}}}", s)
    s = re.sub(r"(?<!\\)\|", r"\\mid ", s)  # conditioning bars, spaced as in the pages
    s = re.sub(r"\s+([_^'])", r"\1", s)  # "\alpha _t" -> "\alpha_t"
    return re.sub(r" {2,}", " ", _sqrt(s)).strip()


def piece_latex(piece: str) -> str:
    """LaTeX of one ``$...$`` piece: written in LaTeX when it holds a backslash command,
    else Unicode mathematics translated by :func:`to_latex`."""
    return piece.strip() if "\\" in piece else to_latex(piece)


def rule_nodes(text: str) -> list[nodes.Node]:
    """Text and inline-math nodes for a rule or start rule: each ``$...$`` piece is
    mathematics (:func:`piece_latex`), the rest stays text; an unpaired dollar raises
    :class:`~ddpm_theory.symbolic.richtext.MathMarkupError`."""
    from ..symbolic.richtext import split_math

    return _math_and_text(split_math(text), piece_latex)


def title_nodes(title: str) -> list[nodes.Node]:
    """Text and inline-math nodes for ``title``: its ``$...$`` pieces when it marks any
    (:func:`rule_nodes`), else the mathematics the heuristic finds."""
    if "$" in title.replace("\\$", ""):
        from ..symbolic.richtext import MathMarkupError

        try:
            return rule_nodes(title)
        except MathMarkupError:  # tests/docs/test_rule_math.py refuses these in the registry
            return [nodes.Text(title)]
    return _math_and_text(split_title(title), to_latex)


def _math_and_text(pieces, latex_of) -> list[nodes.Node]:
    """Inline-math nodes for the mathematical pieces (through ``latex_of``), text for the rest."""
    out: list[nodes.Node] = []
    for is_math, piece in pieces:
        latex = latex_of(piece) if is_math else ""
        out.append(nodes.math(latex, latex) if is_math else nodes.Text(piece))
    return out
