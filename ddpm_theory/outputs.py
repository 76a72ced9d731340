"""Output files: checked before any work, written whole or not at all, never overwritten
without ``force``.

Every file the library writes (checkpoints, JSON records, PNG pictures, NPY arrays,
catalogue exports) goes through :func:`write_output`:

1. the bytes (serialised in memory first) are written to a temporary file in the
   target's own folder (same file system, so publishing is a rename, never a copy) and
   ``fsync``'d;
2. the temporary file is published atomically: with ``os.link`` when nothing may be
   overwritten (the link fails if the target appeared meanwhile: no race), with
   ``os.replace`` under ``force``;
3. on any failure (a full disk, a file-size limit, Ctrl-C, a writer that raises) the
   temporary file is removed: the previous file, if any, is untouched and no partial
   file is left.

:func:`check_output_path` validates a path before the work starts (the folder exists
and accepts a new file; the file does not exist unless ``force``), so that an
unwritable output is reported before minutes of training or auditing, not after.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["OutputError", "check_output_path", "output_problem", "write_output",
           "write_text_output"]


class OutputError(OSError):
    """An output file cannot be written; the message names the path and the cause."""


def _cause(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _probe(folder: Path) -> None:
    """Create and remove an empty file in ``folder`` (os.access is not enough: root
    passes every permission check, and a read-only mount is only found by trying)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".ddpm_theory-probe-")
    except OSError as exc:
        raise OutputError(f"cannot create files in the folder {str(folder)!r} ({_cause(exc)}); "
                          "choose another output folder.") from None
    os.close(fd)
    os.unlink(tmp)


def check_output_path(
    path: str | os.PathLike[str], force: bool = False, *, force_hint: str = "force=True"
) -> Path:
    """Validate an output file path before any work is done (``force_hint`` is how the
    caller's user asks for an overwrite, e.g. ``--force`` on the command line).

    Raises
    ------
    FileNotFoundError
        If the folder does not exist (named in the message).
    IsADirectoryError
        If the path is a folder.
    FileExistsError
        If the file exists and ``force`` is false.
    OutputError
        If the folder does not accept new files (permissions, read-only file system).
    """
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"output folder {str(folder)!r} does not exist; create it first.")
    if p.is_dir():
        raise IsADirectoryError(f"output path {str(p)!r} is a directory; give a file name.")
    if p.exists() and not force:
        raise FileExistsError(f"{str(p)!r} exists; pass {force_hint} to overwrite it.")
    _probe(folder)
    return p


def output_problem(
    path: str | os.PathLike[str], force: bool, *, force_hint: str = "force=True"
) -> str | None:
    """The message of :func:`check_output_path` for a bad output, else None (for callers
    that collect every input problem before reporting)."""
    try:
        check_output_path(path, force, force_hint=force_hint)
    except OSError as exc:
        return str(exc)
    return None


def _publish(tmp: str, p: Path, force: bool) -> None:
    if force:
        os.replace(tmp, p)
        return
    try:
        os.link(tmp, p)  # fails with FileExistsError if p appeared since the check
    except FileExistsError:
        raise FileExistsError(
            f"{str(p)!r} exists; pass force=True (--force) to overwrite it.") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # no hard links on this file system: exclusive creation keeps the no-overwrite rule
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.close(fd)
        os.replace(tmp, p)
    else:
        os.unlink(tmp)


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform opens folders
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_output(
    path: str | os.PathLike[str], write: Callable[[BinaryIO], object], force: bool = False
) -> Path:
    """Write a file whole or not at all (module docstring): ``write(f)`` fills the binary
    file object ``f``; the result is published at ``path`` only once complete and synced.

    Raises
    ------
    FileNotFoundError, IsADirectoryError, FileExistsError
        As :func:`check_output_path` (nothing written).
    OutputError
        The write or the publication failed; the message names the path and the cause.
        The previous file, if any, is untouched and no partial file remains.
    """
    p = check_output_path(path, force)
    folder = p.parent if str(p.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{p.name}.", suffix=".part")
    try:
        buf = io.BytesIO()  # serialise first: a writer that streams into the file (torch.save,
        write(buf)  # numpy's fwrite) turns a failed write into its own error, hiding the cause
        with os.fdopen(fd, "wb") as f:
            f.write(buf.getbuffer())
            f.flush()
            os.fsync(f.fileno())
        _publish(tmp, p, force)
    except FileExistsError:
        raise
    except OSError as exc:
        raise OutputError(f"could not write {str(p)!r}: {_cause(exc)}; nothing was written "
                          "there (an existing file is unchanged).") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _sync_folder(folder)
    return p


def write_text_output(path: str | os.PathLike[str], text: str, force: bool = False) -> Path:
    """:func:`write_output` for UTF-8 text (JSON records, catalogue exports)."""
    data = text.encode("utf-8")
    return write_output(path, lambda f: f.write(data), force)

