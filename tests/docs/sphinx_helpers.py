"""Build tiny Sphinx projects in a temporary folder (shared by the docs tests)."""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util.docutils import docutils_namespace

from ddpm_theory.sphinxext._state import BuildState, state

CONF = """
extensions = ["myst_parser", "ddpm_theory.sphinxext"]
myst_enable_extensions = ["dollarmath", "colon_fence"]
exclude_patterns = ["_build"]
ddpm_require_every_derivation = {require}
ddpm_repo_root = {root!r}
"""
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Built:
    status: int
    warnings: str
    out: Path
    state: BuildState

    def html(self, page: str = "index") -> str:
        return (self.out / f"{page}.html").read_text(encoding="utf-8")


def build(tmp_path: Path, pages: dict[str, str], *, strict: bool = True,
          require_every_derivation: bool = False) -> Built:
    """Write ``pages`` (docname -> MyST text) and a conf.py, build HTML, return the result.

    ``strict`` is ``sphinx-build -W --keep-going``: warnings make the status non-zero.
    """
    src = tmp_path / "src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "conf.py").write_text(CONF.format(require=require_every_derivation, root=str(ROOT)))
    toctree = "\n".join(p for p in pages if p != "index")
    index = pages.get("index", "# index\n")
    if toctree:
        index += f"\n```{{toctree}}\n{toctree}\n```\n"
    for name, text in {**pages, "index": index}.items():
        (src / f"{name}.md").write_text(textwrap.dedent(text), encoding="utf-8")
    warnings = io.StringIO()
    with docutils_namespace():  # node and directive registrations end with the build
        app = Sphinx(str(src), str(src), str(tmp_path / "out"), str(tmp_path / "doctrees"),
                     "html", status=io.StringIO(), warning=warnings, freshenv=True,
                     warningiserror=strict, keep_going=True)
        app.build()
    return Built(app.statuscode, warnings.getvalue(), tmp_path / "out", state(app.env))
