"""A small Sphinx extension that renders the registered derivations and verifies them as
it renders, so that the docs build is a verification run.

Directives (MyST: ``:::{derivation} bayes-posterior``):

``derivation NAME``
    the registered derivation, step by step, with verification stamps
    (:mod:`._derivation`);
``derivation-index``
    every registered derivation with its verdict in this build;
``catalogue``
    the sources' claims (:func:`ddpm_theory.catalogue.load`) linked to what decides them;
``ddpm-notation``, ``ddpm-references``
    the notation table and the pinned list of sources;
``ddpm-figure NAME``
    a picture drawn during the build (:mod:`._figures`);
``ddpm-api PACKAGE``
    autodoc for every public module (reStructuredText pages).

Role: ``{ddpm:derivation}`NAME``` links to the page that renders NAME.

Checks that fail the build (a warning, an error under ``-W``, and a non-zero exit at the
end of the build even without ``-W``): a derivation that does not reach its expected
verdict, an unknown derivation name, a derivation rendered on two pages, a registered
derivation with no page (``ddpm_require_every_derivation``), a catalogue entry that
disagrees with its derivation, a figure that cannot be drawn.

Importing this package does not import torch (the figures import it when they draw).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from ._domain import DdpmDomain
from ._state import reset, state

__all__ = ["setup", "missing_pages", "CSS"]

logger = logging.getLogger(__name__)


def missing_pages(env: BuildEnvironment) -> list[str]:
    """Registered derivations that no page renders."""
    from ..symbolic import registry

    domain = env.get_domain("ddpm")
    assert isinstance(domain, DdpmDomain)
    return [n for n in registry.names() if n not in domain.derivations]


def _outdated(app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str],
              removed: set[str]) -> list[str]:
    """Pages that show verification results or figures are re-read on every build."""
    domain = env.get_domain("ddpm")
    live = set(domain.data.get("live", {}))
    live |= {doc for doc, *_ in domain.data["derivations"].values()}
    live |= {doc for doc, *_ in domain.data["failures"]}
    return sorted((live - removed) & set(env.found_docs))


def _purge_live(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    env.get_domain("ddpm").data.setdefault("live", {}).pop(docname, None)


def _merge_live(app: Sphinx, env: BuildEnvironment, docnames: set[str],
                other: BuildEnvironment) -> None:
    live = env.get_domain("ddpm").data.setdefault("live", {})
    live.update({d: True for d in other.get_domain("ddpm").data.get("live", {})
                 if d in docnames})


def _check_consistency(app: Sphinx, env: BuildEnvironment) -> None:
    if not app.config.ddpm_require_every_derivation:
        return
    for name in missing_pages(env):
        logger.warning("registered derivation %r has no page: add proofs/%s.md with "
                       "':::{derivation} %s'", name, name, name,
                       type="ddpm", subtype="missing-page")


def _finished(app: Sphinx, exc: BaseException | None) -> None:
    if exc is not None:
        return
    if app.builder.format == "html":
        static = Path(app.outdir) / "_static"
        static.mkdir(parents=True, exist_ok=True)
        (static / "ddpm_theory.css").write_text(CSS, encoding="utf-8")
    domain = app.env.get_domain("ddpm")
    problems = [f"{doc}:{line}: {msg}" for doc, line, msg in domain.data["failures"]]
    if app.config.ddpm_require_every_derivation:
        problems += [f"derivation {n!r} has no page" for n in missing_pages(app.env)]
    st = state(app.env)
    if problems:
        logger.error("ddpm_theory: the docs build is a verification run, and it failed:\n  %s",
                     "\n  ".join(problems))
        app.statuscode = 1
    else:
        logger.info("ddpm_theory: %d derivation(s) verified once each in this build; "
                    "%d figure(s) drawn", st.verify_calls,
                    sum(1 for k in st.figures if k != "checkpoint"))


def setup(app: Sphinx) -> dict[str, Any]:
    from ._api import ApiDirective
    from ._derivation import DerivationDirective
    from ._docstrings import process_docstring
    from ._figures import FigureDirective
    from ._run import RunDirective
    from ._tables import (
        CatalogueDirective,
        DerivationIndexDirective,
        NotationDirective,
        ReferencesDirective,
    )

    app.setup_extension("sphinx.ext.autodoc")  # for its autodoc-process-docstring event
    app.connect("autodoc-process-docstring", process_docstring)
    app.add_config_value("ddpm_require_every_derivation", True, "env", bool)
    app.add_config_value("ddpm_verify_seed", 0, "env", int)
    app.add_config_value("ddpm_repo_root", "", "env", str)
    app.add_domain(DdpmDomain)
    app.add_directive("derivation", DerivationDirective)
    app.add_directive("derivation-index", DerivationIndexDirective)
    app.add_directive("catalogue", CatalogueDirective)
    app.add_directive("ddpm-notation", NotationDirective)
    app.add_directive("ddpm-references", ReferencesDirective)
    app.add_directive("ddpm-figure", FigureDirective)
    app.add_directive("ddpm-api", ApiDirective)
    app.add_directive("ddpm-run", RunDirective)
    app.add_css_file("ddpm_theory.css")
    app.connect("builder-inited", reset)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-purge-doc", _purge_live)
    app.connect("env-merge-info", _merge_live)
    app.connect("env-check-consistency", _check_consistency)
    app.connect("build-finished", _finished)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True,
            "env_version": 1}


CSS = """
.ddpm-derivation { border-left: 3px solid var(--color-brand-primary, #2962ff);
  padding: 0.2rem 0 0.2rem 1rem; margin: 1rem 0 2rem 0; }
.ddpm-derivation-head { font-size: 1.05em; }
.ddpm-part { margin: 1.2rem 0; }
.ddpm-part-title { font-size: 1.1em; margin-bottom: 0.3rem; }
.ddpm-step { margin: 0 0 0.6rem 0; }
.ddpm-derivation div.math { margin: 0.2rem 0; overflow-x: auto; overflow-y: hidden; }
.ddpm-step-note { font-size: 0.88em; color: var(--color-foreground-secondary, #555);
  margin: 0 0 0.2rem 1.5rem; }
.ddpm-stamp { font-family: var(--font-stack--monospace, monospace); font-size: 0.82em;
  padding: 0.05rem 0.4rem; border-radius: 0.3rem; }
.ddpm-stamp-verified { background: #e6f4ea; color: #1e6b35; }
.ddpm-stamp-refuted { background: #fff4e0; color: #8a4b00; }
.ddpm-stamp-failed, .ddpm-stamp-bad { background: #fde7e9; color: #a1111f; font-weight: bold; }
.ddpm-counterexample { margin: 0.2rem 0 0.6rem 1.5rem; padding: 0.3rem 0.6rem;
  background: #fff8ec; border-left: 3px solid #e08a00; font-size: 0.9em; }
.ddpm-failure { color: #a1111f; white-space: pre-wrap; }
.ddpm-table td p { margin: 0; }
table.ddpm-catalogue { table-layout: fixed; width: 100%; font-size: 0.88em; }
table.ddpm-catalogue th, table.ddpm-catalogue td { white-space: normal; overflow-wrap: anywhere;
  vertical-align: top; padding: 0.25rem 0.35rem; }
table.ddpm-catalogue td p { overflow-x: auto; overflow-y: hidden; }
table.ddpm-catalogue .ddpm-entry-id { font-size: 0.8em; }
table.ddpm-catalogue th:nth-child(1) { width: 29%; }
table.ddpm-catalogue th:nth-child(2) { width: 14%; }
table.ddpm-catalogue th:nth-child(3) { width: 20%; }
table.ddpm-catalogue th:nth-child(4) { width: 16%; }
table.ddpm-catalogue th:nth-child(5) { width: 21%; }
table.ddpm-catalogue .ddpm-stamp { overflow-wrap: normal; font-size: 0.75em;
  padding: 0.05rem 0.2rem; }
.ddpm-figure img { max-width: 100%; }
"""
