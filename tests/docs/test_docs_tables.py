"""The registry-driven pages: every registered derivation has a proof page, the catalogue
table cross-checks its entries in the same build, and the docstring convention."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sphinx_helpers import build

from ddpm_theory import catalogue
from ddpm_theory.sphinxext._docstrings import escape_bars
from ddpm_theory.symbolic import registry

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", registry.names())
def test_every_registered_derivation_has_a_proof_page(name):
    page = ROOT / "proofs" / f"{name}.md"
    assert page.is_file(), f"registered derivation {name!r} has no page: add {page}"
    text = page.read_text(encoding="utf-8")
    assert re.search(rf"^(:::|```)\{{derivation\}} {re.escape(name)}\s*$", text, re.M), (
        f"{page} does not embed its derivation with ':::{{derivation}} {name}'")


def test_every_proof_page_is_in_the_proofs_toctree():
    index = (ROOT / "proofs" / "index.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^([a-z0-9-]+)\s*$", index, re.M))
    pages = {p.stem for p in (ROOT / "proofs").glob("*.md")} - {"index"}
    assert pages <= listed, f"proof pages missing from proofs/index.md: {pages - listed}"


def test_docs_proofs_is_the_proofs_folder():
    assert (ROOT / "docs" / "proofs").resolve() == (ROOT / "proofs").resolve()


def _entry(**kw) -> catalogue.Entry:
    base = dict(id="t-1", source=catalogue.HO, location="Eq. 7", claim=r"\tilde\beta_t > 0",
                verdict="verified", decided_by="bayes-posterior")
    return catalogue.Entry(**{**base, **kw})


def _catalogue_pages() -> dict[str, str]:
    return {"post": "# p\n\n:::{derivation} bayes-posterior\n:::\n",
            "cat": "# c\n\n:::{catalogue}\n:::\n"}


def test_catalogue_links_each_entry_to_what_decides_it(tmp_path, monkeypatch):
    entries = [
        _entry(),
        _entry(id="t-2", decided_by="bayes-posterior::The degenerate case t = 1"),
        _entry(id="t-3", verdict="not-checkable", decided_by="", reason="a convention"),
        _entry(id="t-4", decided_by="formula", formula="a + 1 >= a",
               symbols=(("a", "real"),)),
    ]
    monkeypatch.setattr(catalogue, "load", lambda *a, **k: entries)
    built = build(tmp_path, _catalogue_pages())
    assert built.status == 0, built.warnings
    html = built.html("cat")
    assert 'href="post.html#derivation-bayes-posterior"' in html
    assert 'href="post.html#derivation-bayes-posterior-part-5"' in html  # the part itself
    assert "a convention" in html and "4 claims" in html
    # the verdict is second, beside its claim; fixed widths so that nothing scrolls sideways
    head = re.findall(r"<th[^>]*><p>([^<]*)</p></th>", html)
    # first the counts per source and verdict, then the entries
    assert head[:7] == ["source", *catalogue.VERDICTS, "total"], head
    assert head[7:9] == ["claim", "verdict"], head
    assert "all sources" in html
    assert "ddpm-catalogue" in html
    assert built.state.verify_calls == 1


@pytest.mark.parametrize("entry, message", [
    (_entry(verdict="refuted"), "says 'refuted' but 'bayes-posterior' is 'verified'"),
    (_entry(decided_by="bayes-posterior::No such part"), "has no part 'No such part'"),
    (_entry(decided_by="no-such-derivation"), "not a registered derivation"),
    (_entry(decided_by="formula", formula="a + 1 <= a", symbols=(("a", "real"),)),
     "says 'verified' but its formula is 'refuted'"),
    (_entry(decided_by="formula", formula="a + b <= a", symbols=(("a", "real"),)),
     "undeclared symbol"),
], ids=["wrong verdict", "unknown part", "unknown derivation", "wrong formula verdict",
        "undeclared symbol"])
def test_catalogue_entry_that_disagrees_fails_the_build(tmp_path, monkeypatch, entry, message):
    monkeypatch.setattr(catalogue, "load", lambda *a, **k: [entry])
    built = build(tmp_path, _catalogue_pages())
    assert built.status != 0
    assert f"catalogue entry {entry.id!r}" in built.warnings
    assert message in built.warnings


def test_catalogue_counts_can_head_a_page(tmp_path, monkeypatch):
    entries = [_entry(), _entry(id="t-2", verdict="not-checkable", decided_by="",
                                reason="a convention")]
    monkeypatch.setattr(catalogue, "load", lambda *a, **k: entries)
    pages = {"cat": ("# c\n\n:::{catalogue} counts\n:::\n\nBetweenTheTables\n\n"
                     ":::{catalogue} entries\n:::\n"),
             "post": "# p\n\n:::{derivation} bayes-posterior\n:::\n"}
    built = build(tmp_path, pages)
    assert built.status == 0, built.warnings
    html = built.html("cat")
    head = re.findall(r"<th[^>]*><p>([^<]*)</p></th>", html)
    assert head == ["source", *catalogue.VERDICTS, "total", "claim", "verdict", "source",
                    "decided by", "note"], head
    assert html.index("all sources") < html.index("BetweenTheTables") < html.index("a convention")


def test_catalogue_that_cannot_load_fails_the_build(tmp_path, monkeypatch):
    def broken(*a, **k):
        raise catalogue.CatalogueError("planted")

    monkeypatch.setattr(catalogue, "load", broken)
    built = build(tmp_path, _catalogue_pages())
    assert built.status != 0 and "CatalogueError: planted" in built.warnings


def test_notation_and_references_pages_build(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "names", lambda: ["bayes-posterior"])
    pages = {"post": "# p\n\n:::{derivation} bayes-posterior\n:::\n",
             "n": "# n\n\n:::{ddpm-notation}\n:::\n", "r": "# r\n\n:::{ddpm-references}\n:::\n"}
    built = build(tmp_path, pages)
    assert built.status == 0, built.warnings
    assert "Schedule.alpha_bar" in built.html("n")
    assert "arXiv:2006.11239v2" in built.html("r")


def test_docstring_bars_are_absolute_values_not_substitutions():
    lines = ["|lhs − rhs| ≤ 1e-40 · (1 + |lhs|)", "``|x|`` and :math:`|y|`", "a | b",
             "Example::", "", "    |x|", "back |z|", ">>> a |b| c", "| a line block"]
    assert escape_bars(lines) == [
        r"\|lhs − rhs\| ≤ 1e-40 · (1 + \|lhs\|)", "``|x|`` and :math:`|y|`", "a | b",
        "Example::", "", "    |x|", r"back \|z\|", ">>> a |b| c", "| a line block"]
