"""The catalogue file: well-formed, complete, and agreeing with the derivations."""

from __future__ import annotations

import ast
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


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_test_ids_exist():
    for e in ENTRIES:
        if e.by_test:
            file, func = e.decided_by.split("::")
            path = ROOT / file
            assert path.is_file(), f"{e.id}: {file} does not exist"
            assert func in _test_functions(path), f"{e.id}: {func} not in {file}"


def test_derivation_verdicts_match_the_registry(results):
    wrong = []
    for e in ENTRIES:
        if e.by_derivation:
            got = e.compute_verdict(results)
            if got != e.verdict:
                wrong.append((e.id, e.verdict, got))
    assert not wrong, wrong


def test_refuted_entries_have_a_counterexample_and_a_correction(results):
    for e in ENTRIES:
        if e.verdict != "refuted":
            continue
        assert len(e.note) > 40, f"{e.id}: the note must state the correct claim"
        if e.by_derivation:
            res = results[e.derivation]
            steps = [s for s in res.steps if s.status.value == "refuted"
                     and (e.part is None or s.part == e.part)]
            assert steps, e.id
            for s in steps:  # a witness: the two sides differ at the shown point
                assert s.counterexample is not None
                assert s.lhs_value != s.rhs_value, e.id
        else:
            assert e.by_test


@pytest.mark.parametrize("row, message", [
    ({"verdict": "maybe"}, "unknown verdict"),
    ({"source": "nowhere"}, "unknown source"),
    ({"claim": ""}, "missing or empty field 'claim'"),
    ({"extra": "x"}, "unknown field"),
    ({"verdict": "not-checkable"}, "needs a reason"),
    ({"decided_by": ""}, "needs decided_by"),
    ({"decided_by": "tests/x.py::nope"}, "tests/<file>.py::test_"),
])
def test_validation_errors_are_clear(row, message):
    base = {"id": "a", "source": cat.HO, "location": "Eq. 4", "claim": "x",
            "verdict": "verified", "decided_by": "forward-marginal"}
    with pytest.raises(cat.CatalogueError, match=re.escape(message)):
        cat.parse({"claim": [{**base, **row}]})


def test_duplicate_ids_are_rejected():
    row = {"id": "a", "source": cat.HO, "location": "Eq. 4", "claim": "x",
           "verdict": "verified", "decided_by": "forward-marginal"}
    with pytest.raises(cat.CatalogueError, match="duplicate id 'a'"):
        cat.parse({"claim": [row, dict(row)]})


def test_refuted_needs_a_note():
    row = {"id": "a", "source": cat.HO, "location": "Eq. 4", "claim": "x",
           "verdict": "refuted", "decided_by": "forward-marginal"}
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
    assert "valid verdicts: verified, refuted, not-checkable" in capsys.readouterr().err
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
