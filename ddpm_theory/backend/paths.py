"""Output paths: checked before any work, never overwritten without ``force``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["check_output_path"]


def check_output_path(path: str | os.PathLike[str], force: bool = False) -> Path:
    """Validate an output file path before any work is done.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist (named in the message).
    FileExistsError
        If the file exists and ``force`` is false.
    """
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"output folder {str(folder)!r} does not exist; create it first.")
    if p.is_dir():
        raise IsADirectoryError(f"output path {str(p)!r} is a directory; give a file name.")
    if p.exists() and not force:
        raise FileExistsError(f"{str(p)!r} exists; pass force=True (--force) to overwrite it.")
    return p
