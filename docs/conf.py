"""Sphinx configuration for ddpm_theory.

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html``. Every derivation
page is verified while it renders (:mod:`ddpm_theory.sphinxext`); pictures are drawn
during the build; MathJax is served from the build itself (sphinx-mathjax-offline), so
no page asks for anything outside the build.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# one thread for torch/BLAS: the docs train a small model and the CI machine has 2 cores;
# set before anything imports torch
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

# proofs/ lives at the top of the repository; docs/proofs is a symlink to it
if not (DOCS / "proofs" / "index.md").is_file():
    raise RuntimeError(
        f"{DOCS / 'proofs'} must be a symlink to ../proofs containing index.md "
        "(git clone with symlinks enabled: git config core.symlinks true)"
    )

project = "ddpm_theory"
author = "the ddpm_theory authors"
copyright = "2026, the ddpm_theory authors"  # noqa: A001
release = version = "0.1.0"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # the package's import name has hyphens
    "ddpm_theory.sphinxext",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "tools", "Thumbs.db", ".DS_Store"]
root_doc = "index"

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "description"
napoleon_google_docstring = False
napoleon_numpy_docstring = True

html_theme = "furo"
html_title = "ddpm_theory"
html_static_path: list[str] = []
# nothing from outside the build: furo and Sphinx ship their assets; MathJax comes from
# sphinx-mathjax-offline; docs/tools/browser_check.py checks the result
html_theme_options = {"navigation_with_keys": True}

ddpm_require_every_derivation = True
ddpm_repo_root = str(ROOT)
