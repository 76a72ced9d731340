"""Output paths for the backend: the library's one output mechanism,
:mod:`ddpm_theory.outputs` (torch-free, so the CLI's ``verify`` and ``catalogue``
use it without importing torch), re-exported under its former name."""

from __future__ import annotations

from ..outputs import (
           OutputError,
           check_output_path,
           output_problem,
           write_output,
           write_text_output,
)

__all__ = ["OutputError", "check_output_path", "output_problem", "write_output",
           "write_text_output"]
