"""Rule texts, part titles and start rules with mathematics in them.

A text may mark mathematics with dollars, ``"complete the square in $x_{t-1}$"``; the
docs render each marked piece through MathJax (a piece written in Unicode, such as
``$q(x_{t−1}|x_t)$``, is translated to LaTeX first), and the command line shows the text
with the dollars removed.  A literal dollar is written ``\\$``.  Unmarked Unicode
mathematics (``β̃_t``, ``√ᾱ_t``) stays readable on the command line and is found by the
docs' title heuristic.
"""

from __future__ import annotations

import re

__all__ = ["split_math", "plain", "MathMarkupError"]

_PIECE = re.compile(r"(?<!\\)\$(.+?)(?<!\\)\$", re.S)


class MathMarkupError(ValueError):
    """A text whose dollars do not pair up."""


def split_math(text: str) -> list[tuple[bool, str]]:
    """``[(is_math, piece), ...]`` covering ``text``; raises :class:`MathMarkupError` on
    an unpaired dollar (the message quotes the text)."""
    out: list[tuple[bool, str]] = []
    pos = 0
    for m in _PIECE.finditer(text):
        if m.start() > pos:
            out.append((False, text[pos:m.start()]))
        out.append((True, m.group(1)))
        pos = m.end()
    rest = text[pos:]
    if re.search(r"(?<!\\)\$", rest):
        raise MathMarkupError(f"unpaired '$' in {text!r}; write a literal dollar as '\\$'")
    if rest:
        out.append((False, rest))
    return [(is_math, s if is_math else s.replace(r"\$", "$")) for is_math, s in out]


def plain(text: str) -> str:
    """``text`` for a terminal: the dollars of marked mathematics removed."""
    try:
        return "".join(piece for _, piece in split_math(text))
    except MathMarkupError:
        return text
