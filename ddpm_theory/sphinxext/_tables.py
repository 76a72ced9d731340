"""Directives that render registries as tables: ``derivation-index``, ``catalogue``,
``ddpm-notation`` and ``ddpm-references``.

Each one enumerates its registry at build time, so a page cannot drift from the code;
an inconsistency is a build failure (a warning, an error under ``-W``, and a failed
build at its end), never a silent omission.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import sympy as sp
from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from ._derivation import inline_math, report_failure, stamp
from ._domain import DdpmDomain, derivation_xref
from ._state import state

__all__ = [
    "DerivationIndexDirective",
    "CatalogueDirective",
    "NotationDirective",
    "ReferencesDirective",
    "table",
]

Cell: TypeAlias = str | nodes.Node | Sequence[nodes.Node]


def table(header: Sequence[str], rows: Sequence[Sequence[Cell]], widths: Sequence[int],
          classes: Sequence[str] = ()) -> nodes.table:
    """A docutils table from cells that are text or nodes."""
    tbl = nodes.table(classes=["ddpm-table", *classes])
    group = nodes.tgroup(cols=len(header))
    tbl += group
    for w in widths:
        group += nodes.colspec(colwidth=w)
    thead = nodes.thead()
    group += thead
    thead += _row(header)
    body = nodes.tbody()
    group += body
    for r in rows:
        body += _row(r)
    return tbl


def _row(cells: Sequence[Cell]) -> nodes.row:
    row = nodes.row()
    for c in cells:
        entry = nodes.entry()
        para = nodes.paragraph()
        if isinstance(c, str):
            para += nodes.Text(c)
        elif isinstance(c, nodes.Node):
            para += c
        else:
            para.extend(c)
        entry += para
        row += entry
    return row


class _Base(SphinxDirective):
    has_content = False
    required_arguments = 0
    optional_arguments = 0

    @property
    def ddpm(self) -> DdpmDomain:
        domain = self.env.get_domain("ddpm")
        assert isinstance(domain, DdpmDomain)
        return domain

    def fail(self, message: str) -> None:
        report_failure(self.ddpm, self.env.docname, self.lineno, message)

    def mark_live(self) -> None:
        """Re-read this page on every build: it shows results of this build."""
        self.ddpm.data.setdefault("live", {})[self.env.docname] = True


class DerivationIndexDirective(_Base):
    """``derivation-index``: every registered derivation with its verdict in this build."""

    def run(self) -> list[nodes.Node]:
        from ..symbolic import registry

        self.mark_live()
        rows = []
        st = state(self.env)
        for name in registry.names():
            v = st.verdict(name)
            if not v.ok:
                self.fail(f"derivation-index: {v.problem()}")
            r = v.result
            title = v.derivation.title if v.derivation else "(could not be built)"
            if r is None:
                verdict: Cell = stamp("failed", ok=False)
            else:
                verdict = stamp(r.status.value, f"expected {r.expected.value}", ok=r.ok)
            rows.append([derivation_xref(name), title, verdict,
                         str(len(r.steps)) if r else "—",
                         f"{r.seconds:.2f}" if r else "—"])
        return [table(["derivation", "title", "verdict in this build", "steps", "seconds"],
                      rows, [18, 42, 22, 6, 8], ["ddpm-derivation-index"])]


# -- the catalogue of the sources' claims ---------------------------------------------------


class CatalogueDirective(_Base):
    """``catalogue``: the sources' claims (:func:`ddpm_theory.catalogue.load`) as a table,
    each linked to the derivation (or part) that decides it or showing the formula it
    evaluates, and cross-checked in this build: every checkable entry's verdict must equal
    the verdict its derivation (or part, or formula) reaches now.  The optional argument
    ``counts`` renders only the counts per source and verdict (for the top of a page), and
    ``entries`` only the entries, cross-checked; with neither, both."""

    optional_arguments = 1

    def run(self) -> list[nodes.Node]:
        self.mark_live()
        what = self.arguments[0] if self.arguments else "both"
        if what not in ("counts", "entries", "both"):
            self.fail(f"catalogue directive: argument {what!r} is not 'counts' or 'entries'")
        try:
            from .. import catalogue
            entries = list(catalogue.load())
        except Exception as exc:  # absent or broken: a failure, never an empty table
            self.fail(f"catalogue directive: ddpm_theory.catalogue.load() is not available "
                      f"or failed: {type(exc).__name__}: {exc}")
            return [nodes.paragraph(text="The catalogue could not be loaded (see the build "
                                         "log).", classes=["ddpm-failure"])]
        if not entries:
            self.fail("catalogue directive: ddpm_theory.catalogue.load() returned no entries")
        if what == "counts":
            return self._head(catalogue, entries)
        rows = [self._entry_row(e) for e in entries]
        entry_table = table(["claim", "verdict", "source", "decided by", "note"],
                            rows, [29, 14, 20, 16, 21], ["ddpm-catalogue"])
        if what == "entries":
            return [entry_table]
        return [*self._head(catalogue, entries), entry_table]

    def _head(self, catalogue: Any, entries: list[Any]) -> list[nodes.Node]:
        """The one-line summary and the counts per source and verdict."""
        counts: dict[str, int] = {}
        for e in entries:
            counts[e.verdict] = counts.get(e.verdict, 0) + 1
        summary = nodes.paragraph(text=f"{len(entries)} claims: " + ", ".join(
            f"{n} {v}" for v, n in sorted(counts.items())) + ".")
        return [summary, self._counts_table(catalogue, entries)]

    @staticmethod
    def _counts_table(catalogue: Any, entries: list[Any]) -> nodes.Node:
        """Entries per source (rows) and verdict (columns), with totals."""
        per = catalogue.counts(entries)
        verdicts = list(catalogue.VERDICTS)
        rows: list[list[Cell]] = [
            [src] + [str(per[src][v]) for v in verdicts] + [str(sum(per[src].values()))]
            for src in catalogue.SOURCES]
        total: list[Cell] = ["all sources", *(str(sum(per[s][v] for s in per))
                                              for v in verdicts), str(len(entries))]
        rows.append(total)
        return table(["source", *verdicts, "total"], rows,
                     [24] + [11] * len(verdicts) + [8], ["ddpm-catalogue-counts"])

    def _entry_row(self, e: Any) -> list[Cell]:
        decided_cell: Cell = "—"
        if e.by_formula:
            self._check_formula(e)
            decided_cell = nodes.literal(e.formula, "its formula, evaluated")
        elif e.derivation:
            self._check_against_derivation(e)
            label = e.derivation + (f" › {e.part}" if e.part else "")
            decided_cell = derivation_xref(e.decided_by, label)
        elif e.verdict != "not-checkable":
            self.fail(f"catalogue entry {e.id!r}: verdict {e.verdict!r} but nothing decides it")
        where: list[nodes.Node] = [nodes.strong(e.source, e.source),
                                   nodes.Text(f", {e.location} " if e.location else " "),
                                   nodes.literal(e.id, e.id, classes=["ddpm-entry-id"])]
        note = e.reason if e.verdict == "not-checkable" else e.note
        return [inline_math(e.claim) if e.claim else "—", stamp(e.verdict, ok=True), where,
                decided_cell, note or ""]

    def _check_against_derivation(self, e: Any) -> None:
        from ..symbolic import registry

        if e.derivation not in registry.names():
            self.fail(f"catalogue entry {e.id!r}: decided_by names {e.derivation!r}, which is "
                      f"not a registered derivation")
            return
        v = state(self.env).verdict(e.derivation)
        if not v.ok or v.result is None:
            self.fail(f"catalogue entry {e.id!r}: {v.problem()}")
            return
        try:
            got = e.compute_verdict({e.derivation: v.result})
        except Exception as exc:  # e.g. a part title that the derivation does not have
            self.fail(f"catalogue entry {e.id!r}: {type(exc).__name__}: {exc}")
            return
        if got != e.verdict:
            self.fail(f"catalogue entry {e.id!r} says {e.verdict!r} but {e.decided_by!r} is "
                      f"{got!r} in this build")

    def _check_formula(self, e: Any) -> None:
        """A formula-decided entry's verdict, recomputed in this build."""
        try:
            got = e.compute_verdict()
        except Exception as exc:  # an unparsable formula or an unknown domain
            self.fail(f"catalogue entry {e.id!r}: {type(exc).__name__}: {exc}")
            return
        if got != e.verdict:
            self.fail(f"catalogue entry {e.id!r} says {e.verdict!r} but its formula is "
                      f"{got!r} in this build")


# -- notation and references -----------------------------------------------------------------
class NotationDirective(_Base):
    """``ddpm-notation``: symbol ↔ code name ↔ paper for the shared notation, then the
    symbols local to single derivations with their declared domains."""

    def run(self) -> list[nodes.Node]:
        from ..symbolic import notation, registry
        from . import _latex as lx
        from ._notation_table import ROWS

        shared = {k: v for k, v in vars(notation).items() if isinstance(v, sp.Symbol)}
        for k in shared.keys() - ROWS.keys():
            self.fail(f"notation page: symbol notation.{k} has no row in "
                      f"ddpm_theory/sphinxext/_notation_table.py (ROWS)")
        for k in ROWS.keys() - shared.keys():
            self.fail(f"notation page: ROWS names notation.{k}, which does not exist")
        rows = []
        for k, s in shared.items():
            row = ROWS.get(k)
            dom = notation.domain_of(s)
            rows.append([inline_math(lx.symbol_latex(s)), nodes.literal(k, k),
                         nodes.literal(row.code, row.code) if row else "—",
                         inline_math(lx.domain_latex(dom)), row.paper if row else "—",
                         row.meaning if row else "—"])
        out: list[nodes.Node] = [table(
            ["symbol", "notation.", "code", "domain", "paper", "meaning"], rows,
            [10, 14, 22, 14, 22, 24], ["ddpm-notation"])]

        used: dict[sp.Symbol, list[str]] = {}
        for name in registry.names():
            for s, _ in lx.derivation_symbols(registry.get(name)):
                used.setdefault(s, []).append(name)
        shared_syms = set(shared.values())
        local = sorted((s for s in used if s not in shared_syms), key=str)
        local_rows = [[inline_math(lx.symbol_latex(s)), nodes.literal(str(s), str(s)),
                       inline_math(lx.domain_latex(notation.domain_of(s))),
                       _xrefs(used[s])] for s in local]
        out.append(nodes.rubric("", "Symbols local to a derivation"))
        out.append(table(["symbol", "SymPy name", "domain", "used in"], local_rows,
                         [14, 18, 18, 50], ["ddpm-notation-local"]))
        return out


def _xrefs(names: Sequence[str]) -> list[nodes.Node]:
    out: list[nodes.Node] = []
    for i, n in enumerate(names):
        if i:
            out.append(nodes.Text(", "))
        out.append(derivation_xref(n))
    return out


class ReferencesDirective(_Base):
    """``ddpm-references``: every source a citation may name, with its pinned version and
    the derivations that cite it."""

    def run(self) -> list[nodes.Node]:
        from ..symbolic import registry
        from ..symbolic.citation import SOURCES

        cited_by: dict[str, list[str]] = {}
        for name in registry.names():
            d = registry.get(name)
            sources = {c.source for c in d.cites}
            sources |= {p.cite.source for p in d.parts if p.cite}
            sources |= {s.cite.source for _, _, s in d.steps if s.cite}
            for src in sources:
                if src not in SOURCES:
                    self.fail(f"references page: derivation {name!r} cites unknown source "
                              f"{src!r}")
                cited_by.setdefault(src, []).append(name)
        rows = []
        for key, source in SOURCES.items():
            link: Cell = "—"
            if source.url:
                link = nodes.reference(source.url, source.url, refuri=source.url)
            rows.append([nodes.strong(key, key), source.reference, link,
                         _xrefs(cited_by.get(key, [])) or "—"])
        return [table(["source", "reference (pinned version)", "link", "cited by"], rows,
                      [16, 44, 18, 22], ["ddpm-references"])]
