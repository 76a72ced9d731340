"""Docstring conventions of the project, applied when autodoc reads a docstring.

In this project ``|x|`` in a docstring means an absolute value or a norm, never a
reStructuredText substitution (the project defines none). Without this hook docutils
reads ``|lhs − rhs|`` as a reference to an undefined substitution and the build fails
under ``-W``. Bars are escaped only in prose: not inside inline literals or roles
(backticks), doctest lines, literal blocks (after ``::``) or table rows.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["escape_bars", "process_docstring"]

_SPANS = re.compile(r"(``.+?``|`[^`]*`)")
_TABLE_OR_BLOCK = re.compile(r"^(\| |\|$|\+[-=]|=+(\s|$))")
_SUBST = re.compile(r"(?<![\\|\w])\|(?=\S)([^|\n]*?\S)\|(?![|\w])")


def _escape(text: str) -> str:
    parts = _SPANS.split(text)
    # odd indices are the literal/role spans kept by the capturing group
    return "".join(p if i % 2 else _SUBST.sub(r"\\|\1\\|", p) for i, p in enumerate(parts))


def escape_bars(lines: list[str]) -> list[str]:
    """``lines`` with every prose ``|x|`` written ``\\|x\\|``."""
    out: list[str] = []
    literal_indent: int | None = None
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if stripped and indent <= literal_indent:
                literal_indent = None
            else:
                out.append(line)
                continue
        if stripped.startswith((">>>", "...")) or _TABLE_OR_BLOCK.match(stripped):
            out.append(line)
        else:
            out.append(_escape(line))
        if stripped.endswith("::"):
            literal_indent = indent
    return out


def process_docstring(app: Any, what: str, name: str, obj: Any, options: Any,
                      lines: list[str]) -> None:
    """The ``autodoc-process-docstring`` hook: edit ``lines`` in place."""
    lines[:] = escape_bars(lines)
