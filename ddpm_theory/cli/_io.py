"""Small helpers shared by the CLI sub-commands: one way to check outputs, one way to
report a problem (a line on stderr, no traceback)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

#: exit status for bad input (arguments, files) found before or during the work
BAD_INPUT = 2
#: exit status for a failure of the work itself (e.g. an output that could not be written)
FAILED = 1


def refuse_overwrite(path: Path, force: bool) -> str | None:
    """An error message if writing ``path`` would lose a file or cannot succeed (checked
    before any work: folder exists and accepts files, no overwrite without --force)."""
    from ..outputs import output_problem

    return output_problem(path, force, force_hint="--force")


def report_problems(problems: Sequence[str]) -> int:
    """Print every input problem (so that one run names them all); the exit status."""
    for msg in problems:
        print(f"error: {msg}", file=sys.stderr)
    return BAD_INPUT if problems else 0


def error(msg: str, status: int = BAD_INPUT) -> int:
    """Print one error line; return ``status``."""
    print(f"error: {msg}", file=sys.stderr)
    return status


def write_file(path: Path, write: Callable[[BinaryIO], object], force: bool) -> str | None:
    """Write ``path`` whole or not at all; the error message if that failed, else None."""
    from ..outputs import write_output

    try:
        write_output(path, write, force)
    except OSError as exc:
        return str(exc)
    return None


def write_text(path: Path, text: str, force: bool) -> str | None:
    """:func:`write_file` for UTF-8 text."""
    data = text.encode("utf-8")
    return write_file(path, lambda f: f.write(data), force)


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" to every option whose default is a value (not None, not an
    off switch) and whose help does not state it already."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        d = action.default
        if d is None or d is False or d is argparse.SUPPRESS or "default" in text:
            return text
        shown = ",".join(map(str, d)) if isinstance(d, (tuple, list)) else d
        return f"{text} (default: {shown})"
