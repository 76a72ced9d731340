"""Outside model formats, imported only when used.

* :mod:`ddpm_theory.adapters.diffusers`: a Hugging Face ``diffusers``
  ``UNet2DModel`` with its ``DDPMScheduler`` (optional extra ``diffusers``).

:func:`load_model` opens what ``ddpm-theory audit`` is given: a checkpoint file of
this library, or a diffusers ``save_pretrained`` folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["load_model"]


def load_model(path: str | os.PathLike[str], device: Any = "cpu") -> Any:
    """A :class:`~ddpm_theory.backend.checkpoint.Checkpoint` for a checkpoint file, a
    :class:`~ddpm_theory.adapters.diffusers.DiffusersModel` for a folder.

    Raises
    ------
    FileNotFoundError, ValueError
        A missing path; a file that is not a checkpoint; a folder that is not a
        diffusers pipeline folder (``AdapterError``, a ``ValueError``).
    """
    p = Path(path)
    if p.is_dir():
        from .diffusers import from_pretrained

        return from_pretrained(p, device=device)
    from ..backend.checkpoint import load_checkpoint

    return load_checkpoint(p, map_location=device)
