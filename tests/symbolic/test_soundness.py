"""The engine is sound: false steps of every known class fail, their true twins verify.

Each class below is a way a false step once came out "verified" (the two lines of the
engine shared a blind spot).  For each class: at least three false steps that must fail
(or be refused with an error) and a true twin of each that must verify -- written
against the public engine API (``ddpm_theory.symbolic``), as a user would write them.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from ddpm_theory.domains import BETA, POSITIVE, REAL, TIMESTEP, UNIT_OPEN, VARIANCE
from ddpm_theory.symbolic import (
    Citation,
    Derivation,
    LogGap,
    Part,
    Premise,
    Relation,
    Status,
    Step,
    registry,
)
from ddpm_theory.symbolic.expectation import GaussE
from ddpm_theory.symbolic.notation import DeclarationError, sym
from ddpm_theory.symbolic.numeric_check import compare, sample_points

CITE = Citation("standard", "soundness test")

v = sym("v_snd", VARIANCE, "v")
w = sym("w_snd", VARIANCE, "w")
x = sym("x_snd", REAL, "x")
y = sym("y_snd", REAL, "y")
a = sym("a_snd", UNIT_OPEN, "a")
b = sym("b_snd", BETA, r"\beta")
u = sym("u_snd", POSITIVE, "u")
n = sym("n_snd", TIMESTEP, "n")
k = sp.Symbol("k_snd", integer=True)


def verdict(prev, expr, *, relation=Relation.EQ, gap=None, claimed_false=False,
            wrt=(), assumptions=(), induction_bases=None, certificate=None) -> Status:
    """Verify the one-step derivation prev → expr; its status."""
    return one_step(prev, expr, relation=relation, gap=gap, claimed_false=claimed_false,
                    wrt=wrt, assumptions=assumptions, induction_bases=induction_bases,
                    certificate=certificate).status


def one_step(prev, expr, *, relation=Relation.EQ, gap=None, claimed_false=False, wrt=(),
             assumptions=(), induction_bases=None, certificate=None):
    """The result of the one step prev → expr (a derivation of one part)."""
    step = Step(expr, "the step under test", CITE, relation=relation, gap=gap,
                claimed_false=claimed_false, wrt=tuple(wrt), certificate=certificate)
    d = Derivation(name="soundness-test", title="t", statement="t",
                   parts=(Part("p", prev, "start", (step,)),),
                   assumptions=tuple(assumptions), induction_bases=induction_bases or {})
    return d.verify().steps[0]


FAILED, VERIFIED, REFUTED = Status.FAILED, Status.VERIFIED, Status.REFUTED


# -- 1. sign-sensitive rewrites: signs come from the domain, never from the points --------
@pytest.mark.parametrize("prev, false, true_prev, true", [
    # ½ log((v − 6)²) = log(6 − v) holds only for v < 6
    (sp.log((v - 6) ** 2) / 2, sp.log(6 - v), sp.log((v + 6) ** 2) / 2, sp.log(v + 6)),
    # √(x² − 10x + 25) = 5 − x holds only for x ≤ 5
    (sp.sqrt(x**2 - 10 * x + 25), 5 - x, sp.sqrt(v**2 + 10 * v + 25), v + 5),
    # log(xy) = log x + log y needs x, y > 0
    (sp.log(x * y), sp.log(x) + sp.log(y), sp.log(v * w), sp.log(v) + sp.log(w)),
    # log((1 − 2a)²) = 2 log(1 − 2a) fails for a > ½
    (sp.log((1 - 2 * a) ** 2), 2 * sp.log(1 - 2 * a), sp.log((1 - a) ** 2), 2 * sp.log(1 - a)),
])
def test_sign_sensitive_rewrites(prev, false, true_prev, true):
    assert verdict(prev, false) is FAILED
    assert verdict(true_prev, true) is VERIFIED


def test_an_unproved_sign_is_could_not_decide():
    res = one_step(sp.sqrt(x**2 - 10 * x + 25), 5 - x)
    assert res.status is FAILED and "symbolic remainder" in res.message


# -- 2. the numeric points cover each declared domain -----------------------------------
def test_points_reach_the_ends_and_the_ddpm_range():
    pts = sample_points({v, x, a, b}, 32, seed=5)
    vs, xs, as_, bs = (np.array([float(p[s]) for p in pts]) for s in (v, x, a, b))
    assert vs.min() <= 1e-6 and vs.max() >= 1e6
    assert (xs < 0).any() and (xs > 0).any() and np.abs(xs).max() >= 1e6
    assert as_.min() <= 1e-6 and as_.max() >= 1 - 1e-6
    assert ((bs >= 1e-4) & (bs <= 0.02)).sum() >= 4          # DDPM's β range
    assert (bs == 1.0).any()                                   # the closed end of (0, 1]


@pytest.mark.parametrize("lhs, rhs", [
    (b, sp.Max(b, sp.Rational(1, 1000))),         # differs only for β < 1e-3
    (v, sp.Min(v, 10**6)),                         # differs only for v > 1e6
    (x, sp.Max(x, -10**6)),                        # differs only for x < −1e6
])
def test_numeric_line_sees_differences_at_the_extremes(lhs, rhs):
    pts = sample_points(lhs.free_symbols, 32, seed=0)
    assert not compare(lhs, rhs, pts, 0).agree
    assert compare(lhs, lhs, pts, 0).agree


@pytest.mark.parametrize("prev, this, gap, true_this, true_gap", [
    # β² ≥ β/50 is false for every β < 0.02, DDPM's whole range
    (b**2, b / 50, b**2 - b / 50, b**3, b**2 - b**3),
    # v ≥ v² fails for v > 1
    (v, v**2, v - v**2, sp.Integer(0), v),
    # 1 ≥ v/10⁶ fails for v > 10⁶
    (sp.Integer(1), v / 10**6, 1 - v / 10**6, 1 - v / (v + 10**6), v / (v + 10**6)),
])
def test_inequalities_false_outside_the_typical_range(prev, this, gap, true_this, true_gap):
    assert verdict(prev, this, relation=Relation.GE, gap=gap) is FAILED
    assert verdict(prev, true_this, relation=Relation.GE, gap=true_gap) is VERIFIED


def test_a_step_reports_its_points_and_domains():
    res = one_step(sp.log(v * w), sp.log(v) + sp.log(w))
    assert res.n_points >= 32 and res.n_distinct == res.n_points
    assert res.domains == {"v_snd": "(0, inf)", "w_snd": "(0, inf)"}


# -- 3. indexed families and abstract functions take fresh values at every point ---------
X = sp.IndexedBase(sym("xf_snd", REAL, "x"))
V = sp.IndexedBase(sym("vf_snd", VARIANCE, "v"), positive=True)
f = sp.Function("f_snd")
g = sp.Function("g_snd", positive=True)


@pytest.mark.parametrize("prev, false, true_prev, true", [
    (sp.log(X[1] * X[2]), sp.log(X[1]) + sp.log(X[2]),
     sp.log(V[1] * V[2]), sp.log(V[1]) + sp.log(V[2])),
    (sp.sqrt(X[1] ** 2), X[1], sp.sqrt(V[1] ** 2), V[1]),
    (sp.log(f(x) ** 2), 2 * sp.log(f(x)), sp.log(g(x) ** 2), 2 * sp.log(g(x))),
    (sp.sqrt(f(x) ** 2) * sp.sqrt(f(y) ** 2), f(x) * f(y),
     sp.sqrt(g(x) ** 2) * sp.sqrt(g(y) ** 2), g(x) * g(y)),
])
def test_families_and_functions(prev, false, true_prev, true):
    assert verdict(prev, false) is FAILED
    assert verdict(true_prev, true) is VERIFIED


def test_a_family_member_is_drawn_afresh_at_every_point():
    # with one value per step, x[1]·x[2] > 0 at that value and the numeric line agreed
    pts = sample_points({y}, 32, seed=1)
    res = compare(sp.sqrt((X[1] * X[2]) ** 2), X[1] * X[2], pts, 0)
    assert not res.agree


# -- 4. inequalities need a certificate that the gap is ≥ 0 on the domain ----------------
@pytest.mark.parametrize("prev, this, gap, true_this, true_gap", [
    # (x − 3)² ≥ 10⁻¹² is false only for |x − 3| < 10⁻⁶: sampling misses it
    ((x - 3) ** 2, sp.Rational(1, 10**12), (x - 3) ** 2 - sp.Rational(1, 10**12),
     sp.Integer(0), (x - 3) ** 2),
    # log u ≥ u − 1 is the wrong way round
    (sp.log(u), u - 1, sp.log(u) - u + 1, sp.log(u) - LogGap(u), LogGap(u)),
    # (E X)² ≥ E[X²] is Jensen the wrong way round
    (GaussE(x, x, y, v) ** 2, GaussE(x**2, x, y, v), -v,
     GaussE(x, x, y, v) ** 2 - v, v),
    # u − 1 − log u ≥ 0 needs u > 0: with x real the lemma does not apply
    (x - 1 - sp.log(x), sp.Integer(0), x - 1 - sp.log(x), sp.Integer(0), u - 1 - sp.log(u)),
])
def test_inequalities_need_a_certificate(prev, this, gap, true_this, true_gap):
    assert verdict(prev, this, relation=Relation.GE, gap=gap) is FAILED
    true_prev = true_this + true_gap
    assert verdict(true_prev, true_this, relation=Relation.GE, gap=true_gap) is VERIFIED


def test_a_lemma_application_is_recorded():
    res = one_step(u - 1 - sp.log(u), sp.Integer(0), relation=Relation.GE, gap=LogGap(u))
    assert res.status is VERIFIED and res.lemmas == ("log-inequality",)


# -- 5. "equal up to a constant in w" needs w on both sides, and no look-alikes ---------
W_other = sp.Symbol("x_snd", positive=True)  # prints as x_snd, a different symbol


@pytest.mark.parametrize("prev, this, wrt", [
    (x**2 + 7, x**2, (v,)),                 # w occurs nowhere: d/dw is 0 for nothing
    (x**2 + 7, x**2, (W_other,)),           # a look-alike of x
    (sp.log(v) + x, sp.Integer(5), (x,)),   # w on one side only
])
def test_eq_const_is_refused_without_its_symbol(prev, this, wrt):
    with pytest.raises(ValueError):
        one_step(prev, this, relation=Relation.EQ_CONST, wrt=wrt)


def test_eq_const_true_twins():
    assert verdict((x - y) ** 2 + 7, (x - y) ** 2, relation=Relation.EQ_CONST,
                   wrt=(x,)) is VERIFIED
    assert verdict(sp.log(v) + (x - y) ** 2 / v, (x - y) ** 2 / v + sp.log(v),
                   relation=Relation.EQ_CONST, wrt=(x, y)) is VERIFIED
    assert verdict((x - y) ** 2 + 7 * v, (x - y) ** 2, relation=Relation.EQ_CONST,
                   wrt=(x, y)) is VERIFIED


def test_look_alike_symbols_in_a_step_are_refused():
    with pytest.raises(ValueError, match="two different symbols"):
        one_step(x + W_other, 2 * x)


# -- 6. declarations: one name, one quantity ------------------------------------------------
def test_redeclaring_a_name_is_an_error():
    sym("decl_snd", VARIANCE, "d")
    assert sym("decl_snd", VARIANCE, "d") is sym("decl_snd", VARIANCE, "d")
    with pytest.raises(DeclarationError, match="decl_snd"):
        sym("decl_snd", POSITIVE, "d")
    with pytest.raises(DeclarationError):
        sym("decl_snd", VARIANCE, r"\delta")
    with pytest.raises(DeclarationError):
        sym("decl_snd", VARIANCE, "d", commutative=True)


def _symbols_of(d: Derivation) -> set[sp.Basic]:
    out: set[sp.Basic] = set()
    for p in d.parts:
        for e in [p.start] + [s.expr for s in p.steps] + [s.gap for s in p.steps if s.gap]:
            for item in (e if isinstance(e, (tuple, sp.Tuple, sp.MatrixBase)) else [e]):
                out |= sp.sympify(item).atoms(sp.Symbol)
    return {s for s in out if not isinstance(s, sp.Dummy)}


def test_the_registry_has_no_name_collisions():
    """Across every registered derivation, a name is one symbol (one set of assumptions)."""
    by_name: dict[str, set] = {}
    for d in registry.all_derivations():
        for s in _symbols_of(d):
            by_name.setdefault(s.name, set()).add(s)
    clashes = {n: sorted(str(s.assumptions0) for s in ss)
               for n, ss in by_name.items() if len(ss) > 1}
    assert not clashes, clashes


# -- 7. modelling assumptions are premises, reported as assumed -------------------------------
q1 = sym("q_a_snd", POSITIVE, "q(a)")
q2 = sym("q_b_snd", POSITIVE, "q(b)")
MARKOV_LIKE = Premise("stand-in", "q(b) = q(a)", {q2: q1})


def test_a_premise_is_needed_and_reported():
    assert verdict(q1, q2) is FAILED                              # not true by itself
    res = one_step(q1, q2, assumptions=(MARKOV_LIKE,))
    assert res.status is VERIFIED and res.assumes == ("stand-in",)
    assert verdict(q1, 2 * q2, assumptions=(MARKOV_LIKE,)) is FAILED


def test_registered_premises_are_listed_as_assumed_never_verified():
    for name in ("bayes-posterior", "elbo-decomposition", "luo-telescoping"):
        d = registry.get(name)
        assert d.assumptions, name
        out = d.verify().to_dict()
        assert out["premises"] and {p["status"] for p in out["premises"]} == {"assumed"}
        assert any(s["assumes"] for s in out["step_results"])


def test_rules_are_no_longer_definitions():
    """Bayes' rule under the Markov property and the Markov property itself are premises."""
    from ddpm_theory.symbolic.derivations import decomposition, posterior

    assert posterior.qA0 not in registry.get("bayes-posterior").definitions
    for name in ("elbo-decomposition", "luo-telescoping"):
        assert decomposition.q_post not in registry.get(name).definitions


# -- 8. a refutation needs a certified counterexample ----------------------------------------
def test_a_true_claim_marked_false_fails():
    # E|X| = √(2v/π): true; 24-node Gauss–Hermite on the kink is off by ~1e-3
    true_claim = sp.sqrt(2 * v / sp.pi)
    assert verdict(GaussE(sp.Abs(x), x, 0, v), true_claim, claimed_false=True) is FAILED
    # true but needing more than 50 digits at some points: lost digits are no refutation
    big = sp.Integer(10) ** 20
    lhs = (v + big) ** 2 - big**2 - 2 * big * v
    assert verdict(lhs, v**2, claimed_false=True) is FAILED
    assert verdict(lhs, v**2) is VERIFIED
    # a true exponential moment
    assert verdict(GaussE(sp.exp(x), x, y, v), sp.exp(y + v / 2), claimed_false=True) is FAILED


def test_a_false_claim_marked_false_is_refuted():
    assert verdict(GaussE(sp.Abs(x), x, 0, v), sp.sqrt(v), claimed_false=True) is REFUTED
    assert verdict(GaussE(x**2, x, y, v), v, claimed_false=True) is REFUTED
    assert verdict(sp.log(v * w), sp.log(v) * sp.log(w), claimed_false=True) is REFUTED


# -- 9. empty sums are 0, empty products 1 -----------------------------------------------------
@pytest.mark.parametrize("prev, karr, usual", [
    (sp.Sum(k**2, (k, 3, 1)), sp.Integer(-4), sp.Integer(0)),       # Karr: −f(2)
    (sp.Product(k, (k, 3, 1)), sp.Rational(1, 2), sp.Integer(1)),    # Karr: 1/f(2)
    (sp.Sum(k, (k, 5, 2)), sp.Integer(-7), sp.Integer(0)),           # Karr: −(3 + 4)
])
def test_empty_sums_and_products(prev, karr, usual):
    assert verdict(prev, karr) is FAILED
    assert verdict(prev, usual) is VERIFIED


def test_induction_starts_where_the_domain_starts():
    # Σ_{k=3}^{n} k = n(n+1)/2 − 3 holds for n ≥ 2 but not at n = 1 (empty sum 0 ≠ −2);
    # under Karr's convention it "holds" for every n ≥ 1
    claim = (sp.Sum(k, (k, 3, n)), n * (n + 1) / 2 - 3)
    assert verdict(*claim) is FAILED
    assert verdict(*claim, induction_bases={n: 2}) is VERIFIED
    # a telescoping product over 1..n, true from n = 1 on
    assert verdict(sp.Product((k + 1) / k, (k, 1, n)), n + 1) is VERIFIED


# -- applying a registered lemma: the instance is computed, its domain checked ------------
la = sym("a_lem", REAL, "a")
lb = sym("b_lem", REAL, "b")
lu = sym("u_lem", POSITIVE, "u")


def _lemma(name: str, start, end, claimed_false: bool = False) -> Derivation:
    return Derivation(name=name, title=name, statement="t", parts=(Part(
        "the lemma", start, "start", (Step(end, "expand", CITE, claimed_false=claimed_false),)),))


def test_a_lemma_is_applied_by_its_computed_instance():
    from ddpm_theory.symbolic import Apply

    square = _lemma("test-square", (la + lb) ** 2, la**2 + 2 * la * lb + lb**2)
    with registry.temporary(square):
        ok = one_step((x + 2 * y) ** 2, x**2 + 4 * x * y + 4 * y**2,
                      certificate=Apply("test-square", 0, {la: x, lb: 2 * y}))
        assert ok.status is VERIFIED and ok.lemmas == ("test-square",)
        typo = one_step((x + 2 * y) ** 2, x**2 + 2 * x * y + 4 * y**2,
                        certificate=Apply("test-square", 0, {la: x, lb: 2 * y}))
        assert typo.status is FAILED


def test_a_lemma_applies_only_inside_its_domain():
    from ddpm_theory.symbolic import Apply

    root = _lemma("test-root", sp.sqrt(lu**2), lu)
    with registry.temporary(root):
        outside = one_step(sp.sqrt((x - 5) ** 2), x - 5,
                           certificate=Apply("test-root", 0, {lu: x - 5}))
        assert outside.status is FAILED and "domain" in outside.message
        inside = one_step(sp.sqrt((v + 5) ** 2), v + 5,
                          certificate=Apply("test-root", 0, {lu: v + 5}))
        assert inside.status is VERIFIED


def test_an_unverified_unknown_or_cyclic_lemma_is_refused():
    from ddpm_theory.symbolic import Apply

    wrong = _lemma("test-wrong", (la + lb) ** 2, la**2 + lb**2)
    with registry.temporary(wrong):
        # the false step (x + y)² = x² + y² *is* the wrong lemma's instance
        res = one_step((x + y) ** 2, x**2 + y**2,
                       certificate=Apply("test-wrong", 0, {la: x, lb: y}))
        assert res.status is FAILED and "not verified" in res.message
    res = one_step(x, x, certificate=Apply("no-such-lemma", 0, {}))
    assert res.status is FAILED and "not registered" in res.message
    selfish = Derivation(name="test-cycle", title="t", statement="t", parts=(Part(
        "p", x, "start", (Step(x, "by itself", CITE,
                               certificate=Apply("test-cycle", 0, {})),)),))
    with registry.temporary(selfish):
        out = selfish.verify()
        assert out.status is FAILED and "cycle" in out.steps[0].message
