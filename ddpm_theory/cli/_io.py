"""Small helpers shared by the CLI sub-commands."""

from __future__ import annotations

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
