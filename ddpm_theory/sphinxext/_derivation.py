"""The ``derivation`` directive: render a registered derivation, verifying it as it renders.

    :::{derivation} bayes-posterior
    :::

renders the title, statement, premises, the symbols with their declared domains, and each
part step by step in LaTeX with its rule, citation and verification stamp (status,
method, seconds). A refuted claim shows its counterexample. A step that does not reach
its expected verdict, or an unknown name, is a build warning naming the derivation, part
and step (an error under ``-W``) and fails the build at its end in any case.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from . import _latex as lx
from ._domain import DdpmDomain, anchor
from ._state import Verdict, state
from ._title_math import rule_nodes, title_nodes

if TYPE_CHECKING:
    from ..symbolic.engine import Derivation, DerivationResult, StepResult

__all__ = ["DerivationDirective", "stamp", "report_failure"]

logger = logging.getLogger(__name__)

_GLYPH = {"verified": "✔", "refuted": "✘", "failed": "✖"}


def stamp(status: str, detail: str = "", *, ok: bool = True) -> nodes.inline:
    """An inline verification stamp such as ``✔ verified · groebner+mpmath50 · 0.031 s``."""
    text = f"{_GLYPH.get(status, '?')} {status}" + (f" · {detail}" if detail else "")
    classes = ["ddpm-stamp", f"ddpm-stamp-{status}"] + ([] if ok else ["ddpm-stamp-bad"])
    return nodes.inline(text, text, classes=classes)


def step_stamp(r: StepResult) -> nodes.inline:
    status = r.status.value
    if r.claimed_false and status == "refuted":
        label = "refuted as expected: the source's claim is false"
        return stamp(status, f"{label} · {r.method} · {r.seconds:.3f} s")
    extra = "".join(
        [f" · {r.n_distinct} points"] if r.n_points else []
    ) + (f" · assuming {', '.join(r.assumes)}" if r.assumes else "") + (
        f" · lemma {', '.join(r.lemmas)}" if r.lemmas else "")
    return stamp(status, f"{r.method}{extra} · {r.seconds:.3f} s", ok=status == "verified")


def math_block(latex: str, docname: str, classes: list[str] | None = None) -> nodes.math_block:
    return nodes.math_block(latex, latex, nowrap=False, number=None, label=None,
                            docname=docname, classes=classes or [])


def inline_math(latex: str) -> nodes.math:
    return nodes.math(latex, latex)


def _para(*children: nodes.Node, classes: list[str] | None = None) -> nodes.paragraph:
    p = nodes.paragraph(classes=classes or [])
    p.extend(children)
    return p


def _text(s: str) -> nodes.Text:
    return nodes.Text(s)


def _cited(text: str, cite: object) -> str:
    """``text`` followed by its citation, unless the text already carries it."""
    c = str(cite) if cite else ""
    return text if not c or c in text else f"{text} {c}"


def _depends_on(names: list[str]) -> nodes.paragraph:
    """"Applies the registered lemmas: a, b", each linked to its page (unlinked, without a
    warning, in a build that does not render it)."""
    para = _para(_text("Applies the registered lemmas: "), classes=["ddpm-depends-on"])
    for k, name in enumerate(names):
        if k:
            para += _text(", ")
        ref = pending_xref("", refdomain="ddpm", reftype="derivation", reftarget=name,
                           refexplicit=False, refwarn=False)
        ref += nodes.literal(name, name, classes=["xref", "ddpm-derivation-ref"])
        para += ref
    para += _text(" (checked in this build; see the dependency graph)")
    return para


def report_failure(domain: DdpmDomain, docname: str, line: int, message: str) -> None:
    """Log a verification failure (a warning; an error under -W) and remember it so that
    the build fails at its end even without -W."""
    logger.warning(message, location=(docname, line), type="ddpm", subtype="verification")
    domain.note_failure(docname, line, message)


class DerivationDirective(SphinxDirective):
    """``derivation NAME``: render and verify the registered derivation NAME."""

    required_arguments = 1
    optional_arguments = 0
    has_content = False
    final_argument_whitespace = False

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0].strip()
        docname, line = self.env.docname, self.lineno
        domain = self.env.get_domain("ddpm")
        assert isinstance(domain, DdpmDomain)
        verdict = state(self.env).verdict(name)
        box = nodes.container(classes=["ddpm-derivation"], ids=[anchor(name)])
        if verdict.derivation is None:  # unknown, or its builder raised
            report_failure(domain, docname, line, f"derivation directive: {verdict.error}")
            box += _para(stamp("failed", verdict.error, ok=False))
            return [box]
        d = verdict.derivation
        other = domain.note_derivation(name, docname, d.title, line)
        if other is not None:
            report_failure(domain, docname, line,
                           f"derivation {name!r} is rendered on two pages: {other!r} and "
                           f"{docname!r}; each derivation has one page")
        if not verdict.ok:
            report_failure(domain, docname, line, verdict.problem())
        box["classes"].append(f"ddpm-status-{verdict.result.status.value}"
                              if verdict.result else "ddpm-status-failed")
        box.extend(self._render(d, verdict))
        return [box]

    # -- rendering ---------------------------------------------------------------------
    def _render(self, d: Derivation, verdict: Verdict) -> list[nodes.Node]:
        out: list[nodes.Node] = [self._head(d, verdict)]
        out.append(nodes.rubric("", "Statement"))
        out.append(math_block(lx.split_statement(d.statement), self.env.docname,
                              ["ddpm-statement"]))
        if d.summary:
            out.append(_para(_text(d.summary), classes=["ddpm-summary"]))
        if d.premises or d.assumptions:
            out.append(nodes.rubric("", "Premises (assumed, not verified)"))
            items = nodes.bullet_list(classes=["ddpm-premises"])
            for p in d.premises:
                items += nodes.list_item("", _para(inline_math(p)))
            for a in d.assumptions:
                items += nodes.list_item("", _para(_text(f"{a.name}: "), inline_math(a.statement),
                                                   _text(f" {a.cite}" if a.cite else "")))
            out.append(items)
        out.extend(self._symbols(d))
        if d.cites:
            cites = dict.fromkeys(str(c) for c in d.cites)  # each once, in order
            out.append(_para(_text("Sources: " + "; ".join(cites)),
                             classes=["ddpm-sources"]))
        result = verdict.result
        if result is not None and result.depends_on:
            out.append(_depends_on(result.depends_on))
        by_step = {(r.part, r.index): r for r in result.steps} if result else {}
        domain = self.env.get_domain("ddpm")
        assert isinstance(domain, DdpmDomain)
        for k, part in enumerate(d.parts, start=1):
            domain.note_part(d.name, part.title, k, self.env.docname, self.lineno)
            out.append(self._part(d.name, k, part, by_step))
        if d.counterexample_note:
            note = nodes.admonition(classes=["ddpm-counterexample-note"])
            note += nodes.title("", "Counterexample")
            note += _para(_text(d.counterexample_note))
            out.append(note)
        if verdict.error:
            out.append(nodes.literal_block(verdict.error, verdict.error,
                                           classes=["ddpm-failure"]))
        return out

    def _head(self, d: Derivation, verdict: Verdict) -> nodes.paragraph:
        result = verdict.result
        head = _para(nodes.strong("", "", *title_nodes(d.title)), _text(" "),
                     nodes.literal(d.name, d.name), classes=["ddpm-derivation-head"])
        head += _text(" ")
        if result is None:
            head += stamp("failed", "not verified", ok=False)
            return head
        detail = (f"{len(result.steps)} steps in {result.seconds:.2f} s at build time"
                  f" · expected {result.expected.value}"
                  f" · methods: {', '.join(result.methods)}")
        head += stamp(result.status.value, detail, ok=result.ok)
        return head

    def _latex(self, render, where: str) -> str:
        """LaTeX from ``render()``; a printer error is a build failure naming the place,
        and the page shows a marker instead of crashing the build."""
        try:
            return render()
        except Exception as exc:
            domain = self.env.get_domain("ddpm")
            assert isinstance(domain, DdpmDomain)
            report_failure(domain, self.env.docname, self.lineno,
                           f"derivation {self.arguments[0].strip()!r}, {where}: cannot be "
                           f"rendered in LaTeX ({type(exc).__name__}: {exc}); give the step "
                           f"a latex= string or fix the expression's _latex printer")
            return r"\text{(could not be rendered; see the build log)}"

    def _rich(self, text: str, where: str) -> list[nodes.Node]:
        """``text`` with its ``$...$`` mathematics rendered; unpaired dollars are a build
        failure naming the place (the text is then shown as it is)."""
        from ..symbolic.richtext import MathMarkupError

        try:
            return rule_nodes(text)
        except MathMarkupError as exc:
            domain = self.env.get_domain("ddpm")
            assert isinstance(domain, DdpmDomain)
            report_failure(domain, self.env.docname, self.lineno,
                           f"derivation {self.arguments[0].strip()!r}, {where}: {exc}")
            return [_text(text)]

    def _symbols(self, d: Derivation) -> list[nodes.Node]:
        syms = lx.derivation_symbols(d)
        if not syms:
            return []
        items = nodes.bullet_list(classes=["ddpm-symbols"])
        for s, dom in syms:
            latex = rf"{lx.symbol_latex(s)} \in {lx.domain_latex(dom)}"
            items += nodes.list_item("", _para(inline_math(latex),
                                               _text(f" ({dom.description or dom.name})")))
        return [nodes.rubric("", "Symbols and their declared domains"), items]

    def _part(self, name: str, k: int, part, by_step: dict) -> nodes.container:
        docname = self.env.docname
        box = nodes.container(classes=["ddpm-part"], ids=[anchor(name, k)])
        box += nodes.rubric("", "", _text(f"Part {k}. "), *title_nodes(part.title),
                            classes=["ddpm-part-title"])
        first = self._latex(lambda: lx.start_latex(part), f"part {part.title!r}, start")
        if part.lhs:
            first = f"{part.lhs} = {first}"
        box += math_block(first, docname, ["ddpm-start"])
        start_note = _cited("Start: " + part.start_rule, part.cite)
        box += _para(*self._rich(start_note, f"part {part.title!r}, start rule"),
                     classes=["ddpm-step-note"])
        for i, step in enumerate(part.steps):
            r = by_step.get((part.title, i))
            box += self._step(i, step, r)
        return box

    def _step(self, i: int, step, r: StepResult | None) -> nodes.container:
        docname = self.env.docname
        status = r.status.value if r else "failed"
        box = nodes.container(classes=["ddpm-step", f"ddpm-step-{status}"])
        rel = lx.relation_latex(step)
        latex = self._latex(lambda: lx.step_latex(step), f"step {i + 1} ({step.rule[:60]})")
        box += math_block(rf"\overset{{({i + 1})}}{{{rel}}}\ {latex}", docname)
        note = _para(nodes.strong(f"({i + 1}) ", f"({i + 1}) "),
                     *self._rich(_cited(step.rule, step.cite), f"step {i + 1} rule"),
                     classes=["ddpm-step-note"])
        if step.wrt:
            wrt = ", ".join(lx.symbol_latex(w) for w in step.wrt)
            note += _text(" — equal up to a term constant in ")
            note += inline_math(wrt)
        if step.note:
            note += _text(f" ({step.note})")
        note += _text(" ")
        note += step_stamp(r) if r else stamp("failed", "no result", ok=False)
        box += note
        if r is not None and r.status.value != "verified":
            box += self._counterexample(r)
        return box

    def _counterexample(self, r: StepResult) -> nodes.Node:
        box = nodes.container(classes=["ddpm-counterexample"])
        if r.counterexample:
            by_name = {str(s): s for s in lx.notation.LATEX}
            para = _para(_text("Counterexample at "))
            for j, (k, v) in enumerate(r.counterexample.items()):
                if j:
                    para += _text(", ")  # separate math pieces, so that the line can wrap
                sym = lx.symbol_latex(by_name[k]) if k in by_name else k
                para += inline_math(f"{sym} = {lx.short_number(v)}")
            para += _text(f": previous expression = {lx.short_number(r.lhs_value)}, "
                          f"this step = {lx.short_number(r.rhs_value)}.")
            box += para
        if r.status.value == "failed":
            box += nodes.literal_block(r.message, r.message, classes=["ddpm-failure"])
        return box


def result_summary(result: DerivationResult) -> str:
    return f"{result.status.value} ({len(result.steps)} steps, {result.seconds:.2f} s)"
