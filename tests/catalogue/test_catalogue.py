"""The catalogue file: well-formed, complete, and agreeing with the derivations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ddpm_theory import catalogue as cat
from ddpm_theory.cli import main
from ddpm_theory.symbolic import registry

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = cat.load()


@pytest.fixture(scope="module")
def results():
    """Each derivation named by the catalogue, verified once."""
    names = sorted({e.derivation for e in ENTRIES if e.by_derivation})
    return {n: registry.get(n).verify() for n in names}


def test_loads_from_the_source_tree():
    assert cat.default_path() == ROOT / "proofs" / "catalogue.toml"
    assert len(ENTRIES) >= 100


def test_every_source_has_entries():
    counts = cat.counts(ENTRIES)
    for src in cat.SOURCES:
        assert sum(counts[src].values()) >= 5, src
    for doc in cat.DOCUMENTS:
        assert counts[doc]["refuted"] >= 1, f"{doc}: every source document has an error"


def test_ho_equations_are_all_covered():
    locs = [e.location for e in ENTRIES if e.source == cat.HO]
    for k in range(1, 15):
        assert any(re.match(rf"Eqs?\. {k}\b", loc) for loc in locs), f"Ho et al. Eq. {k}"
    for alg in ("Algorithm 1", "Algorithm 2"):
        assert any(loc.startswith(alg) for loc in locs)


def test_derivation_names_are_registered():
    known = set(registry.names())
    for e in ENTRIES:
        if e.by_derivation:
            assert e.derivation in known, f"{e.id}: {e.derivation!r} is not registered"


def test_no_entry_is_decided_by_a_test():
    # every verdict is one that `catalogue --check` can recompute
    for e in ENTRIES:
        assert not e.decided_by.startswith("tests/"), e.id
        if e.checkable:
            assert e.kind in ("derivation", "derivation part", "formula"), e.id
            assert e.formula, e.id


def test_every_checkable_verdict_is_recomputed(results):
    wrong = []
    for e in ENTRIES:
        if e.checkable:
            got = e.compute_verdict(results)
            if got != e.verdict:
                wrong.append((e.id, e.verdict, got))
    assert not wrong, wrong


def test_refuted_entries_have_a_counterexample_and_a_correction(results):
    for e in ENTRIES:
        if e.verdict != "refuted":
            continue
        assert len(e.note) > 40, f"{e.id}: the note must state the correct claim"
        ce = e.counterexample(results)
        assert ce is not None and ce.lhs != ce.rhs, e.id
        if e.by_derivation:
            res = results[e.derivation]
            steps = [s for s in res.steps if s.status.value == "refuted"
                     and (e.part is None or s.part == e.part)]
            assert steps, e.id
            for s in steps:  # a witness: the two sides differ at the shown point
                assert s.counterexample is not None
                assert s.lhs_value != s.rhs_value, e.id
        else:
            assert e.by_formula and ce.point, e.id


@pytest.mark.parametrize("row, message", [
    ({"verdict": "maybe"}, "unknown verdict"),
    ({"source": "nowhere"}, "unknown source"),
    ({"claim": ""}, "missing or empty field 'claim'"),
    ({"extra": "x"}, "unknown field"),
    ({"verdict": "not-checkable"}, "needs a reason"),
    ({"decided_by": ""}, "needs decided_by"),
    ({"decided_by": "tests/x.py::test_y"}, "names a test"),
    ({"formula": ""}, "needs its formula"),
    ({"decided_by": "formula"}, "declares its symbols"),
    ({"verdict": "imprecise"}, "states its reading"),
    ({"verdict": "imprecise", "reading": "r"}, "needs reading_formula"),
    ({"verdict": "conditional"}, "states its reading"),
    ({"symbols": {"x": 1}}, "'symbols' is a table"),
])
def test_validation_errors_are_clear(row, message):
    base = {"id": "a", "source": cat.HO, "location": "Eq. 4", "claim": "x",
            "verdict": "verified", "decided_by": "forward-marginal", "formula": "x == x"}
    with pytest.raises(cat.CatalogueError, match=re.escape(message)):
        cat.parse({"claim": [{**base, **row}]})


def test_duplicate_ids_are_rejected():
    row = {"id": "a", "source": cat.HO, "location": "Eq. 4", "claim": "x",
           "verdict": "verified", "decided_by": "forward-marginal", "formula": "x == x"}
    with pytest.raises(cat.CatalogueError, match="duplicate id 'a'"):
        cat.parse({"claim": [row, dict(row)]})


def test_refuted_needs_a_note():
    row = {"id": "a", "source": cat.HO, "location": "Eq. 4", "claim": "x",
           "verdict": "refuted", "decided_by": "forward-marginal", "formula": "x == x"}
    with pytest.raises(cat.CatalogueError, match="needs a note"):
        cat.parse({"claim": [row]})


def test_compute_verdict_detects_a_wrong_record(results):
    e = next(x for x in ENTRIES if x.id == "s003-eq12")
    assert e.compute_verdict(results) == "refuted"
    assert next(x for x in ENTRIES if x.id == "ho-eq11").compute_verdict(results) == "verified"
    with pytest.raises(cat.CatalogueError, match="has no part"):
        cat.part_status(results["bayes-posterior"], "no such part")


def test_cli_filters_and_counts(capsys):
    assert main(["catalogue", "--source", cat.HO, "--verdict", "verified"]) == 0
    out = capsys.readouterr().out
    assert "ho-eq4" in out and "s000-" not in out


def test_cli_rejects_unknown_values(capsys):
    assert main(["catalogue", "--verdict", "maybe"]) == 2
    err = capsys.readouterr().err
    assert "valid verdicts: verified, refuted, imprecise, conditional, not-checkable" in err
    assert main(["catalogue", "--source", "x"]) == 2
    assert "valid sources" in capsys.readouterr().err


def test_cli_json_refuses_overwrite(tmp_path, capsys):
    out = tmp_path / "c.json"
    assert main(["catalogue", "--verdict", "refuted", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data and all(d["verdict"] == "refuted" for d in data)
    assert main(["catalogue", "--json", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["catalogue", "--json", str(out), "--force"]) == 0


def test_cli_check_fails_on_a_wrong_verdict(tmp_path, capsys):
    text = (ROOT / "proofs" / "catalogue.toml").read_text()
    bad = tmp_path / "bad.toml"
    # record Ho et al. Eq. 11 (verified) as refuted
    start = text.index('id = "ho-eq11"')
    end = text.index("[[claim]]", start)
    block = text[start:end].replace('verdict = "verified"',
                                    'verdict = "refuted"\nnote = "' + "x" * 50 + '"')
    bad.write_text(text[:start] + block + text[end:])
    assert main(["catalogue", "--file", str(bad), "--source", cat.HO, "--check"]) == 1
    assert "MISMATCH ho-eq11" in capsys.readouterr().err


def test_refuted_entries_carry_their_counterexample(results):
    e = next(x for x in ENTRIES if x.id == "s000-l0-no-parameters")
    ce = e.counterexample(results)
    assert ce is not None and ce.derivation == "density-claims" and ce.part == e.part
    step = next(s for s in results["density-claims"].steps
                if s.part == e.part and s.status.value == "refuted")
    assert (ce.point, ce.lhs, ce.rhs) == (dict(step.counterexample), step.lhs_value,
                                          step.rhs_value)
    assert float(ce.lhs) != pytest.approx(float(ce.rhs))  # the two sides differ there
    assert next(x for x in ENTRIES if x.id == "ho-eq11").counterexample(results) is None


def test_cli_list_names_sources_and_shows_counterexamples(capsys):
    assert main(["catalogue", "--source", "Yi 2023", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert ".txt" not in out  # no file names
    line = out[out.index("s000-l0-no-parameters"):].splitlines()[1]
    assert line.strip().startswith("counterexample: at ") and "derived" in line
    assert "Understanding the Denoising Diffusion Probabilistic Model" in out  # its title


def test_cli_prints_one_entry_whole(capsys):
    e = next(x for x in ENTRIES if x.id == "s000-l0-no-parameters")
    assert main(["catalogue", "--id", e.id, "--no-progress"]) == 0
    out = capsys.readouterr().out
    for value in (e.location, e.claim, e.note, e.decided_by, e.source_title):
        assert value in out  # whole, not shortened
    assert "counterexample:" in out
    assert main(["catalogue", "--id", "s000-l0", "--no-progress"]) == 2
    assert "s000-l0-no-parameters" in capsys.readouterr().err  # the near ids are named


def test_cli_json_carries_titles_and_counterexamples(tmp_path):
    out = tmp_path / "r.json"
    assert main(["catalogue", "--verdict", "refuted", "--json", str(out), "--no-progress"]) == 0
    data = {d["id"]: d for d in json.loads(out.read_text())}
    ce = data["s000-l0-no-parameters"]["counterexample"]
    assert set(ce) == {"derivation", "part", "step", "point", "lhs", "rhs"} and ce["point"]
    assert data["s000-l0-no-parameters"]["source_title"].startswith("Understanding the")
    by_formula = [d for d in data.values() if d["decided_by"] == "formula"]
    assert by_formula and all(d["counterexample"]["point"] for d in by_formula)
    assert all(d["formula"] and d["kind"] for d in data.values())


# words by which a note would judge a claim true or false
_JUDGING = re.compile(r"ill-(formed|typed|posed)|\bfalse\b|\bwrong\b|incorrect|mistake|"
                      r"unfounded|\berror\b|\bholds\b|\bcorrect\b|is not a (set|function)", re.I)


def test_not_checkable_entries_judge_nothing():
    # a not-checkable entry says why it cannot be checked; one whose reason or note calls
    # it true or false belongs to a checkable verdict with a check
    for e in ENTRIES:
        if not e.checkable:
            text = (e.reason + " " + e.note).replace("not a mathematical statement", "")
            assert not _JUDGING.search(text), f"{e.id}: {text}"


def test_readings_are_stated_and_checked(results):
    imprecise = [e for e in ENTRIES if e.verdict == "imprecise"]
    conditional = [e for e in ENTRIES if e.verdict == "conditional"]
    assert len(imprecise) >= 5 and len(conditional) >= 2
    for e in imprecise:
        assert e.reading and e.reading_formula and e.formula != e.reading_formula, e.id
        assert e.decide(results).status == "refuted", e.id  # as written
        assert e.decide(results, charitable=True).status == "verified", e.id  # as read
    for e in conditional:
        assert e.reading and e.decide(results).status == "verified", e.id


def test_cli_json_with_id_carries_readings_and_the_computed_verdict(tmp_path):
    out = tmp_path / "e.json"
    assert main(["catalogue", "--id", "s000-normalisation", "--json", str(out),
                 "--no-progress"]) == 0
    (d,) = json.loads(out.read_text())
    assert d["verdict"] == d["computed"] == "imprecise" and d["kind"] == "formula"
    assert d["reading"] and d["reading_formula"] and d["symbols"] == {"m": "real",
                                                                      "v": "variance"}
    assert d["quote"].startswith("Summing up the probability numbers")
