"""Applying a registered lemma (``Apply``): the step must *contain* the lemma's instance.

For a lemma that is an algebraic identity, start − end under any mapping simplifies to 0,
so "previous − this = the instance" holds for every true step: a wrong mapping or an
irrelevant lemma would verify and record a dependency the step never used.  The rule: the
instance S = E occurs in the step (S or E, in the previous expression or in this step; as a
sub-expression or, term by term, as a sub-sum c·S), and the step with that occurrence
rewritten must hold.  Each test sets the false application the rule must refuse beside
the true one it must accept.
"""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from ddpm_theory.domains import POSITIVE, REAL, VARIANCE
from ddpm_theory.symbolic import Apply, Citation, Derivation, Part, Status, Step, registry
from ddpm_theory.symbolic.application import apply_lemma, lemma_sides
from ddpm_theory.symbolic.engine import _map, expand_lemmas, substitute_definitions
from ddpm_theory.symbolic.notation import sym
from ddpm_theory.symbolic.procedures import make_lookup

CITE = Citation("standard", "lemma application test")
x = sym("x_app", REAL, "x")
y = sym("y_app", REAL, "y")
v = sym("v_app", VARIANCE, "v")
la = sym("a_app", REAL, "a")
lb = sym("b_app", REAL, "b")
lu = sym("u_app", POSITIVE, "u")
NOT_OCCUR = "does not occur in the step under this mapping"
VERIFIED, FAILED = Status.VERIFIED, Status.FAILED


def lemma(name: str, start, end, *, claimed_false: bool = False) -> Derivation:
    return Derivation(name=name, title=name, statement="t", parts=(Part(
        "the lemma", start, "start", (Step(end, "expand", CITE, claimed_false=claimed_false),)),))


SQUARE = lemma("test-app-square", (la + lb) ** 2, la**2 + 2 * la * lb + lb**2)
# a tuple (mean, variance) lemma: y = a x + b with x ~ (m, s) has the moments (a m + b, a² s)
MOMENTS = lemma("test-app-moments", sp.Tuple(la * (lb + 1), (la + lb) ** 2),
                sp.Tuple(la * lb + la, la**2 + 2 * la * lb + lb**2))
CUBE = lemma("test-app-cube", (la + lb) ** 3, la**3 + 3 * la**2 * lb + 3 * la * lb**2 + lb**3)


def one_step(prev, expr, certificate):
    step = Step(expr, "the step under test", CITE, certificate=certificate)
    d = Derivation(name="apply-test", title="t", statement="t",
                   parts=(Part("p", prev, "start", (step,)),))
    return d.verify().steps[0]


@pytest.fixture
def lemmas():
    with registry.temporary(SQUARE), registry.temporary(MOMENTS), registry.temporary(CUBE):
        yield


def sq(a_, b_) -> Apply:
    return Apply("test-app-square", 0, {la: a_, lb: b_})


# -- the instance must occur: the whole side, a sub-expression, a sub-sum ------------------
def test_a_wrong_mapping_on_a_true_step_is_refused(lemmas):
    prev, this = (x + 2 * y) ** 2, x**2 + 4 * x * y + 4 * y**2
    assert one_step(prev, this, sq(x, 2 * y)).status is VERIFIED
    wrong = one_step(prev, this, sq(2 * x, y))   # the step is true; (2x + y)² is not in it
    assert wrong.status is FAILED and NOT_OCCUR in wrong.message
    assert wrong.lemmas == ()                    # and records no dependency


def test_an_irrelevant_lemma_on_a_true_step_is_refused(lemmas):
    prev, this = (x + y) ** 2, x**2 + 2 * x * y + y**2
    assert one_step(prev, this, sq(x, y)).status is VERIFIED
    for irrelevant in (Apply("test-app-cube", 0, {la: x, lb: y}),
                       Apply("linear-gaussian-step", 0, {})):
        res = one_step(prev, this, irrelevant)
        assert res.status is FAILED and NOT_OCCUR in res.message


def test_the_instance_inside_a_function_and_as_a_sub_sum(lemmas):
    # a sub-expression: log((x + y)²) = log(x² + 2xy + y²)
    inner = (sp.log((x + y) ** 2), sp.log(x**2 + 2 * x * y + y**2))
    assert one_step(*inner, sq(x, y)).status is VERIFIED
    assert NOT_OCCUR in one_step(*inner, sq(x, -y)).message
    # a sub-sum, scaled: −3(x² + 2xy + y²) + v distributes into terms; read right to left
    prev = -3 * x**2 - 6 * x * y - 3 * y**2 + v
    this = -3 * (x + y) ** 2 + v
    assert one_step(prev, this, sq(x, y)).status is VERIFIED
    assert NOT_OCCUR in one_step(prev, this, sq(y, 2 * x)).message


def test_a_sub_sum_is_matched_term_by_term_not_by_cancellation(lemmas):
    # x² + 2xy + y² is in the previous expression only after 2(y² + v) − y² − 2v cancels:
    # not an occurrence, and x(x + 2y) + y² + x contains neither side of the lemma
    spread = x**2 + 2 * x * y + sp.Mul(2, y**2 + v, evaluate=False) - y**2 - 2 * v + x
    res = one_step(spread, x * (x + 2 * y) + y**2 + x, sq(x, y))
    assert res.status is FAILED and NOT_OCCUR in res.message
    assert one_step(spread, (x + y) ** 2 + x, sq(x, y)).status is VERIFIED  # S in this step


def test_a_false_step_with_the_right_mapping_still_fails(lemmas):
    res = one_step((x + 2 * y) ** 2 + v, x**2 + 2 * x * y + 4 * y**2 + v, sq(x, 2 * y))
    assert res.status is FAILED and NOT_OCCUR not in res.message


# -- tuples (mean, variance) ---------------------------------------------------------------
def test_a_tuple_lemma_is_applied_component_by_component(lemmas):
    prev = sp.Tuple(x * (y + 1) + v, (x + y) ** 2)
    this = sp.Tuple(x * y + x + v, x**2 + 2 * x * y + y**2)
    cert = Apply("test-app-moments", 0, {la: x, lb: y})
    assert one_step(prev, this, cert).status is VERIFIED
    wrong = one_step(prev, this, Apply("test-app-moments", 0, {la: y, lb: x}))
    assert wrong.status is FAILED and NOT_OCCUR in wrong.message
    # a typo in one component is caught (the instance used to be ignored for tuples)
    typo = one_step(prev, sp.Tuple(x * y + x + v, x**2 + y**2), cert)
    assert typo.status is FAILED


def test_a_scalar_lemma_in_one_component_of_a_tuple(lemmas):
    prev, this = sp.Tuple(v, (x + y) ** 2), sp.Tuple(v, x**2 + 2 * x * y + y**2)
    assert one_step(prev, this, sq(x, y)).status is VERIFIED
    assert NOT_OCCUR in one_step(prev, this, sq(x, 1)).message


# -- domain, verification, registration, cycles (as before) --------------------------------
def test_the_domain_the_verdict_and_the_registration_of_the_lemma():
    root = lemma("test-app-root", sp.sqrt(lu**2), lu)
    wrong = lemma("test-app-wrong", (la + lb) ** 2, la**2 + lb**2)
    with registry.temporary(root), registry.temporary(wrong):
        inside = one_step(sp.sqrt((v + 5) ** 2), v + 5, Apply("test-app-root", 0, {lu: v + 5}))
        assert inside.status is VERIFIED
        outside = one_step(sp.sqrt((x - 5) ** 2), x - 5, Apply("test-app-root", 0, {lu: x - 5}))
        assert outside.status is FAILED and "domain" in outside.message
        res = one_step((x + y) ** 2, x**2 + y**2, Apply("test-app-wrong", 0, {la: x, lb: y}))
        assert res.status is FAILED and "not verified" in res.message
    res = one_step(x, x, Apply("test-app-nowhere", 0, {}))
    assert res.status is FAILED and "not registered" in res.message
    selfish = Derivation(name="test-app-cycle", title="t", statement="t", parts=(Part(
        "p", x + y, "start", (Step(x + y, "by itself", CITE,
                                   certificate=Apply("test-app-cycle", 0, {})),)),))
    with registry.temporary(selfish):
        out = selfish.verify()
        assert out.status is FAILED and "cycle" in out.steps[0].message


# -- every application in the registry, and a perturbed mapping of each --------------------
def _applications():
    for name in registry.names():
        d = registry.get(name)
        for part, idx, step in d.steps:
            if isinstance(step.certificate, Apply):
                yield d, part, idx, step


def _sides(d, part, idx, step):
    subs = dict(d.definitions)
    for a in d.assumptions:
        subs.update(a.substitutions)
    prev = part.start if idx == 0 else part.steps[idx - 1].expr
    return [_map(e, lambda z: expand_lemmas(substitute_definitions(sp.sympify(z), subs)))
            for e in (prev, step.expr)]


def test_every_registered_application_is_found_and_a_perturbed_one_refused():
    found = list(_applications())
    assert len(found) >= 4
    for d, part, idx, step in found:
        lhs, rhs = _sides(d, part, idx, step)
        lookup = make_lookup(d.domains)
        rewritten, cert = apply_lemma(step.certificate, lhs, rhs, lookup)
        assert rewritten is not None, (d.name, cert.reason)
        mapping = dict(step.certificate.mapping)
        sides = lemma_sides(step.certificate, lookup)[0]
        bad = [Apply(n, 0, {}) for n in ("linear-gaussian-step", "tower-property", "elbo-gap")
               if n != step.certificate.lemma]
        for s, value in mapping.items():
            moved = dataclasses.replace(step.certificate, mapping={**mapping, s: value + 1})
            other = lemma_sides(moved, lookup)[0]
            # a value neither side depends on gives the same instance: nothing to refuse
            if other is not None and other.start != sides.start and other.end != sides.end:
                bad.append(moved)
        for cert_ in bad:
            out, why = apply_lemma(cert_, lhs, rhs, lookup)
            assert out is None, (d.name, cert_)
            assert NOT_OCCUR in why.reason or "domain" in why.reason
