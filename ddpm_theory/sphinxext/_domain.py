"""The ``ddpm`` Sphinx domain: where each derivation is rendered, links to it, and the
failures found while reading (kept in the environment so parallel reads merge them).

* ``{ddpm:derivation}`bayes-posterior``` links to the page that renders the derivation;
  a name with no page is a build warning (an error under ``-W``).
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from typing import Any, ClassVar

from docutils import nodes
from docutils.nodes import Element
from sphinx.addnodes import pending_xref
from sphinx.builders import Builder
from sphinx.domains import Domain, ObjType
from sphinx.environment import BuildEnvironment
from sphinx.roles import XRefRole
from sphinx.util.nodes import make_refnode

__all__ = ["DdpmDomain", "anchor", "derivation_xref", "PART_SEPARATOR"]


#: separates a derivation's name from one of its part titles in a target
PART_SEPARATOR = "::"


def anchor(name: str, part: int | None = None) -> str:
    """The HTML id of the rendered derivation ``name`` (or of its part number ``part``)."""
    base = f"derivation-{nodes.make_id(name)}"
    return base if part is None else f"{base}-part-{part}"


class DdpmDomain(Domain):
    name = "ddpm"
    label = "ddpm_theory"
    object_types = {"derivation": ObjType("derivation", "derivation")}
    roles = {"derivation": XRefRole(warn_dangling=True)}
    initial_data: ClassVar[dict[str, Any]] = {
        "derivations": {},  # name -> (docname, anchor, title, line)
        "failures": [],     # (docname, line, message)
    }
    dangling_warnings = {
        "derivation": "no page renders derivation %(target)r (add proofs/%(target)s.md "
                      "with a derivation directive)",
    }

    @property
    def derivations(self) -> dict[str, tuple[str, str, str, int]]:
        """target ("name" or "name::part title") -> (docname, anchor, title, line)"""
        return self.data["derivations"]

    @property
    def failures(self) -> list[tuple[str, int, str]]:
        return self.data["failures"]

    def note_derivation(self, name: str, docname: str, title: str, line: int) -> str | None:
        """Record that ``docname`` renders ``name``; returns the other page's name when
        the derivation is already rendered elsewhere."""
        if name in self.derivations and self.derivations[name][0] != docname:
            return self.derivations[name][0]
        self.derivations[name] = (docname, anchor(name), title, line)
        return None

    def note_part(self, name: str, title: str, k: int, docname: str, line: int) -> None:
        """Make ``name::title`` a link target (the part's box on the derivation's page)."""
        self.derivations[f"{name}{PART_SEPARATOR}{title}"] = (docname, anchor(name, k),
                                                              title, line)

    def note_failure(self, docname: str, line: int, message: str) -> None:
        self.failures.append((docname, line, message))

    def clear_doc(self, docname: str) -> None:
        for name, (doc, *_rest) in list(self.derivations.items()):
            if doc == docname:
                del self.derivations[name]
        self.data["failures"] = [f for f in self.failures if f[0] != docname]

    def merge_domaindata(self, docnames: Set[str], otherdata: dict[str, Any]) -> None:
        for name, entry in otherdata["derivations"].items():
            if entry[0] in docnames:
                self.derivations[name] = entry
        self.failures.extend(f for f in otherdata["failures"] if f[0] in docnames)

    def resolve_xref(self, env: BuildEnvironment, fromdocname: str, builder: Builder,
                     typ: str, target: str, node: pending_xref,
                     contnode: Element) -> nodes.reference | None:
        if target not in self.derivations:
            return None
        docname, ident, title, _ = self.derivations[target]
        return make_refnode(builder, fromdocname, docname, ident, contnode, title)

    def resolve_any_xref(self, env: BuildEnvironment, fromdocname: str, builder: Builder,
                         target: str, node: pending_xref,
                         contnode: Element) -> list[tuple[str, nodes.reference]]:
        ref = self.resolve_xref(env, fromdocname, builder, "derivation", target, node, contnode)
        return [("ddpm:derivation", ref)] if ref is not None else []

    def get_objects(self) -> Iterable[tuple[str, str, str, str, str, int]]:
        for name, (docname, ident, _title, _line) in self.derivations.items():
            if PART_SEPARATOR in name:
                continue
            yield name, name, "derivation", docname, ident, 1


def derivation_xref(name: str, text: str | None = None) -> pending_xref:
    """A link to the page of derivation ``name`` (a build warning if it has none)."""
    ref = pending_xref("", refdomain="ddpm", reftype="derivation", reftarget=name,
                       refexplicit=text is not None, refwarn=True)
    ref += nodes.literal(text or name, text or name, classes=["xref", "ddpm-derivation-ref"])
    return ref
