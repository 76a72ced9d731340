"""The dependency graph: edges from verification results, layers with every lemma below
the derivations that apply it, cycles refused, the figure drawn into a tiny build, and
each derivation's page listing the lemmas it applies."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sphinx_helpers import build

from ddpm_theory.sphinxext import _graph
from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.graph import CycleError, DependencyGraph, from_results, layers


def _result(name: str, deps: list[str], status: str = "verified") -> SimpleNamespace:
    return SimpleNamespace(name=name, depends_on=deps, status=SimpleNamespace(value=status))


def test_edges_layers_and_used_by():
    g = from_results([_result("a", ["kl"]), _result("kl", ["log"]), _result("log", []),
                      _result("alone", [])])
    assert g.edges == {"a": ("kl",), "kl": ("log",), "log": (), "alone": ()}
    assert layers(g) == {"a": 2, "kl": 1, "log": 0, "alone": 0}
    assert g.used_by("log") == ["kl"] and g.lemmas == ["kl", "log"]
    assert g.connected == ["a", "kl", "log"]
    assert g.to_dict()["kl"] == {"depends_on": ["log"], "used_by": ["a"], "status": "verified"}


def test_a_dependency_on_an_unknown_name_is_kept_as_missing():
    g = from_results([_result("a", ["ghost"])])
    assert g.status["ghost"] == "missing" and g.edges["ghost"] == ()


def test_a_cycle_is_refused_naming_it():
    g = DependencyGraph({"a": ("b",), "b": ("a",)}, {"a": "verified", "b": "verified"})
    with pytest.raises(CycleError, match="a -> b -> a"):
        layers(g)


def test_positions_put_each_lemma_below_its_users():
    g = from_results([_result("a", ["kl", "log"]), _result("kl", ["log"]), _result("log", []),
                      *[_result(f"alone-{k}", []) for k in range(6)]])
    pos, alone = _graph.positions(g)
    assert pos["a"][1] > pos["kl"][1] > pos["log"][1]
    assert alone == [f"alone-{k}" for k in range(6)]


def test_the_figure_and_the_dependencies_on_a_page(tmp_path, monkeypatch):
    names = ["log-inequality", "gaussian-kl"]
    monkeypatch.setattr(registry, "names", lambda: list(names))
    pages = {"index": "# deps\n\n:::{ddpm-figure} dependency-graph\n:alt: graph\nCaption.\n:::\n",
             **{n: f"# {n}\n\n:::{{derivation}} {n}\n:::\n" for n in names}}
    built = build(tmp_path, pages)
    assert built.status == 0, built.warnings
    png = tmp_path / "doctrees" / "ddpm_figures" / "dependency-graph.png"
    assert png.is_file() and png.stat().st_size > 1000
    assert built.state.verify_calls == 2  # the figure reuses the pages' verdicts
    html = built.html("gaussian-kl")
    assert "Applies the registered lemmas:" in html
    assert 'href="log-inequality.html#derivation-log-inequality"' in html
    assert "Applies the registered lemmas" not in built.html("log-inequality")


def test_a_derivation_that_cannot_be_verified_fails_the_figure(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "names", lambda: ["log-inequality", "no-such-derivation"])
    built = build(tmp_path, {"index": "# deps\n\n:::{ddpm-figure} dependency-graph\n:::\n"},
                  strict=False)
    assert built.status != 0
    assert "no-such-derivation could not be verified" in built.warnings
