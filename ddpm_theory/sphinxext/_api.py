"""``ddpm-api``: the API reference, one autodoc section per public module, enumerated from
the package so that a new module appears without editing the docs.

Use it in a reStructuredText page (it emits autodoc directives)::

    .. ddpm-api:: ddpm_theory
"""

from __future__ import annotations

import importlib
import pkgutil

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

__all__ = ["ApiDirective", "public_modules"]


def public_modules(package: str) -> list[str]:
    """Every importable module of ``package`` whose dotted name has no ``_``-prefixed part
    (``__main__`` excluded), packages before their modules, in name order."""
    pkg = importlib.import_module(package)
    found = [package]
    for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        found.append(info.name)
    return sorted(found)


class ApiDirective(SphinxDirective):
    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        lines: list[str] = []
        for mod in public_modules(self.arguments[0]):
            lines += [mod, "-" * len(mod), "", f".. automodule:: {mod}"]
            # a package's __all__ re-exports names defined in its modules: document each
            # object once, where it is defined
            if not hasattr(importlib.import_module(mod), "__path__"):
                lines += ["   :members:", "   :show-inheritance:", "   :ignore-module-all:"]
            lines.append("")
        content = StringList(lines, source=f"<ddpm-api {self.arguments[0]}>")
        holder = nodes.section()
        holder.document = self.state.document
        nested_parse_with_titles(self.state, content, holder)
        return list(holder.children)
