"""``catalogue --check`` recomputes every checkable verdict and ties every formula to
the step that decides it: a flipped verdict or an edited formula makes it fail."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ddpm_theory import catalogue as cat
from ddpm_theory import catalogue_checks as cc
from ddpm_theory.cli import main

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "proofs" / "catalogue.toml").read_text()
ENTRIES = {e.id: e for e in cat.load()}
#: the opposite of each verdict (an imprecise entry recorded as plainly verified)
FLIP = {"verified": "refuted", "refuted": "verified", "imprecise": "verified",
        "conditional": "refuted"}


def _sample() -> list[str]:
    """Two entries of every (deciding kind, verdict) pair present in the catalogue."""
    seen: dict[tuple[str, str], list[str]] = {}
    for e in ENTRIES.values():
        if e.checkable:
            seen.setdefault((e.kind, e.verdict), []).append(e.id)
    return [i for ids in seen.values() for i in ids[:2]]


SAMPLE = _sample()


def _edit(entry_id: str, old: str, new: str) -> str:
    """The catalogue text with ``old`` replaced by ``new`` once, inside one entry."""
    start = TEXT.index(f'id = "{entry_id}"\n')
    end = TEXT.find("[[claim]]", start)
    end = len(TEXT) if end < 0 else end
    block = TEXT[start:end]
    assert old in block, (entry_id, old)
    return TEXT[:start] + block.replace(old, new, 1) + TEXT[end:]


def _check(tmp_path: Path, text: str, entry_id: str) -> int:
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    return main(["catalogue", "--file", str(bad), "--id", entry_id, "--check",
                 "--no-progress"])


def test_the_sample_covers_every_kind():
    kinds = {ENTRIES[i].kind for i in SAMPLE}
    assert kinds == {"derivation", "derivation part", "formula"}
    assert {ENTRIES[i].verdict for i in SAMPLE} >= {"verified", "refuted", "imprecise"}


@pytest.mark.parametrize("entry_id", SAMPLE)
def test_the_recorded_entry_passes(entry_id, tmp_path, capsys):
    assert _check(tmp_path, TEXT, entry_id) == 0
    assert "0 disagree" in capsys.readouterr().out


@pytest.mark.parametrize("entry_id", SAMPLE)
def test_a_flipped_verdict_fails(entry_id, tmp_path, capsys):
    e = ENTRIES[entry_id]
    new = FLIP[e.verdict]
    text = _edit(entry_id, f'verdict = "{e.verdict}"',
                 f'verdict = "{new}"' + ('\nnote = "' + "x" * 50 + '"' if not e.note else ""))
    assert _check(tmp_path, text, entry_id) == 1
    assert f"MISMATCH {entry_id}: recorded {new}" in capsys.readouterr().err


def _edited_formula(formula: str, by_formula: bool) -> str:
    """A formula-decided entry's relation turned (its formula is what is evaluated, so a
    false formula edited into another false one keeps its verdict); a derivation-decided
    entry's formula with a plausible slip: the first ' - ' (or '*' or '+') turned."""
    edits = (((" == ", " != "), (" != ", " == "), (" >= ", " <= "), (" <= ", " >= "))
             if by_formula
             else ((" - ", " + "), ("*", "/"), (" + ", " - ")))
    for old, new in edits:
        if old in formula:
            return formula.replace(old, new, 1)
    raise AssertionError(f"no operator to edit in {formula!r}")


@pytest.mark.parametrize("entry_id", SAMPLE)
def test_an_edited_formula_fails(entry_id, tmp_path, capsys):
    e = ENTRIES[entry_id]
    edited = _edited_formula(e.formula, e.by_formula)
    text = _edit(entry_id, f"formula = '{e.formula}'", f"formula = '{edited}'")
    assert _check(tmp_path, text, entry_id) == 1
    assert f"MISMATCH {entry_id}" in capsys.readouterr().err


def test_an_edited_charitable_reading_fails(tmp_path, capsys):
    e = next(x for x in ENTRIES.values() if x.verdict == "imprecise")
    text = _edit(e.id, f"reading_formula = '{e.reading_formula}'",
                 f"reading_formula = '{e.reading_formula.replace('== 1', '== 2')}'")
    assert _check(tmp_path, text, e.id) == 1
    assert "as read refuted" in capsys.readouterr().err


def test_the_whole_catalogue_checks(capsys):
    assert main(["catalogue", "--check", "--no-progress"]) == 0
    out = capsys.readouterr().out
    n = sum(e.checkable for e in ENTRIES.values())
    assert re.search(rf"check: {n} verdicts recomputed .* 0 disagree", out)


@pytest.mark.parametrize("text, declared, status", [
    ("Integral(exp(-x**2/2)/sqrt(2*pi), (x, -oo, oo)) == 1", {}, "verified"),
    ("Integral(exp(-x**2/2)/sqrt(2*pi), (x, -oo, oo)) == 1 + a/10**12", {"a": "positive"},
     "refuted"),  # a difference of 1e-12 is seen at 30 digits
    ("a + b >= a", {"a": "real", "b": "positive"}, "verified"),
    ("a + b <= a", {"a": "real", "b": "positive"}, "refuted"),
    ("a**2 != a", {"a": "real"}, "verified"),
    ("(a + 1)**2 != a**2 + 2*a + 1", {"a": "real"}, "refuted"),
    ("Product(1 - 1/k**2, (k, 2, 100)) == Rational(101, 200)", {}, "verified"),
])
def test_formula_evaluation_decides(text, declared, status):
    assert cc.evaluate(text, declared).status == status


@pytest.mark.parametrize("text, message", [
    ("a == b", "undeclared symbol"),
    ("a = 1", "expected exactly one of"),
    ("a == (", "does not parse"),
])
def test_bad_formulas_are_named(text, message):
    with pytest.raises(cc.FormulaError, match=re.escape(message)):
        cc.evaluate(text, {"a": "real"})


def test_unknown_domains_are_named():
    with pytest.raises(cc.FormulaError, match="unknown domain 'reals'"):
        cc.evaluate("a == a", {"a": "reals"})
