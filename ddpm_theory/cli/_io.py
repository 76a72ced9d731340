"""Small helpers shared by the CLI sub-commands."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path


def refuse_overwrite(path: Path, force: bool) -> str | None:
    """An error message if writing ``path`` would lose a file or cannot succeed."""
    path = Path(path)
    if path.exists() and path.is_dir():
        return f"{path} is a directory; give a file name"
    if path.exists() and not force:
        return f"{path} exists; pass --force to overwrite it"
    if not path.parent.exists():
        return f"the folder {path.parent} does not exist; create it first"
    return None


def report_problems(problems: Sequence[str]) -> int:
    """Print every input problem (so that one run names them all); the exit status."""
    for msg in problems:
        print(f"error: {msg}", file=sys.stderr)
    return 2 if problems else 0
