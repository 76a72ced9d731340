"""tests/numeric: make the folder's helper module (``numeric_helpers``) importable
under ``--import-mode=importlib`` (the top-level conftest puts only tests/ on the path)."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
