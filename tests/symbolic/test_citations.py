"""Every step shown is a step cited: each Part and each Step of every registered
derivation names its source (a key of ``SOURCES``) and where in it, and a "standard"
fact names its rule."""

from __future__ import annotations

import pytest

from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.citation import SOURCES, Citation, citation_gaps
from ddpm_theory.symbolic.engine import Derivation, Part, Step


@pytest.mark.parametrize("name", registry.names())
def test_every_part_and_step_is_cited(name):
    gaps = citation_gaps(registry.get(name))
    assert not gaps, f"{len(gaps)} uncited in derivation {name!r}:\n" + "\n".join(gaps)


@pytest.mark.parametrize("name", registry.names())
def test_citations_name_known_sources(name):
    d = registry.get(name)
    for c in [*d.cites, *(p.cite for p in d.parts), *(s.cite for _, _, s in d.steps)]:
        if c is not None:
            assert c.source in SOURCES


def _two_parts(step_cite, part_cite) -> Derivation:
    step = Step(1, "rule one", step_cite)
    return Derivation(
        name="cite-test", title="t", statement="s",
        parts=(Part("cited part", 1, "start", (step,), cite=Citation("standard", "x")),
               Part("second part", 1, "start", (Step(1, "rule two"),), cite=part_cite)),
    )


def test_citation_gaps_name_derivation_part_and_step():
    gaps = citation_gaps(_two_parts(None, None))
    assert gaps == [
        "derivation 'cite-test', part 'cited part', step 1 (rule one): no citation",
        "derivation 'cite-test', part 'second part': no citation",
        "derivation 'cite-test', part 'second part', step 1 (rule two): no citation",
    ]


def test_a_standard_citation_must_name_its_rule():
    gaps = citation_gaps(_two_parts(Citation("standard"), Citation("Ho et al. 2020", "Eq. 7")))
    assert "derivation 'cite-test', part 'cited part', step 1 (rule one): a 'standard' " \
           "citation must name the rule" in gaps
    assert len(gaps) == 2  # and the uncited step of the second part


def test_a_fully_cited_derivation_has_no_gaps():
    d = _two_parts(Citation("standard", "product rule"), Citation("Luo 2022", "Eq. 44"))
    d = Derivation(name=d.name, title=d.title, statement=d.statement, parts=(
        d.parts[0], Part("second part", 1, "start",
                         (Step(1, "rule two", Citation("Luo 2022", "Eq. 45")),),
                         cite=Citation("Luo 2022", "Eq. 44"))))
    assert citation_gaps(d) == []


def test_an_unknown_source_is_refused_where_it_is_written():
    with pytest.raises(ValueError, match="unknown source 'Ho 2020'"):
        Citation("Ho 2020", "Eq. 7")


def test_uncited_user_derivations_still_verify():
    """Citations are required of the registry (this file), not of a user's derivation."""
    d = _two_parts(None, None)
    assert d.verify(n_points=4).status.value == "verified"
