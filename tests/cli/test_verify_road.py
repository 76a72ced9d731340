"""`ddpm-theory verify` reports how much of the road is shown: single-step parts, missing
citations and lemma dependencies, in its summary and per derivation in --json."""

from __future__ import annotations

import json

from ddpm_theory.cli import main
from ddpm_theory.symbolic import registry


def test_json_carries_parts_single_steps_citations_and_dependencies(tmp_path, capsys):
    out = tmp_path / "out.json"
    assert main(["verify", "gaussian-kl", "log-inequality", "-j", "1", "--json", str(out)]) == 0
    data = {d["name"]: d for d in json.loads(out.read_text())}
    kl, lemma = data["gaussian-kl"], data["log-inequality"]
    assert kl["parts"] == len(registry.get("gaussian-kl").parts)
    assert kl["single_step_parts"] == sum(len(p.steps) == 1
                                          for p in registry.get("gaussian-kl").parts)
    assert kl["depends_on"] == ["log-inequality"] and lemma["depends_on"] == []
    assert kl["uncited"] == [] and lemma["uncited"] == []
    parts = kl["parts"] + lemma["parts"]
    single = kl["single_step_parts"] + lemma["single_step_parts"]
    text = capsys.readouterr().out
    assert (f"{single} of {parts} parts have a single step ({single / parts:.0%}); 0 parts or "
            "steps without a citation; 1 lemma dependencies") in text


def test_a_users_uncited_derivation_verifies_and_is_counted(tmp_path, capsys):
    mod = tmp_path / "mine.py"
    mod.write_text(
        "import sympy as sp\n"
        "from ddpm_theory.symbolic.engine import Derivation, Part, Step\n"
        "x = sp.Symbol('x', positive=True)\n"
        "D = Derivation(name='mine', title='t', statement='s', parts=(\n"
        "    Part('p', (x + 1)**2, 'start', (Step(x**2 + 2*x + 1, 'expand'),)),))\n")
    assert main(["verify", "--module", str(mod), "-j", "1"]) == 0
    assert "1 of 1 parts have a single step (100%); 2 parts or steps without a citation" \
        in capsys.readouterr().out
