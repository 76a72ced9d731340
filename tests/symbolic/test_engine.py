"""The engine's own checks must be able to fail (docs/verification.md, tier S0 / S0-num)."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp
from scipy import stats

from ddpm_theory.domains import POSITIVE, REAL
from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.citation import Citation
from ddpm_theory.symbolic.engine import Derivation, Part, Relation, Status, Step
from ddpm_theory.symbolic.expectation import GaussE, gaussian_raw_moment
from ddpm_theory.symbolic.notation import DEFINITIONS, alpha, alpha_bar, alpha_bar_prev, beta, sym
from ddpm_theory.symbolic.numeric_check import compare, sample_points
from ddpm_theory.symbolic.procedures import is_zero

x = sym("x_test", REAL, "x")
p = sym("p_test", POSITIVE, "p")


def one_step(start, expr, **step_kw) -> Derivation:
    return Derivation(
        name="test-one-step", title="t", statement="s",
        parts=(Part("part A", start, "premise", (Step(expr, "rule", Citation("standard", "x"),
                                                      **step_kw),)),),
    )


# -- decision procedures -------------------------------------------------------------
@pytest.mark.parametrize(
    "expr",
    [
        (p + 1) ** 2 / (p + 1) - p - 1,                                      # rational
        sp.sqrt(alpha_bar) - sp.sqrt(alpha) * sp.sqrt(alpha_bar_prev),       # radicals + defs
        sp.sqrt((1 - alpha) / (1 - alpha_bar)) * sp.sqrt(1 - alpha_bar) - sp.sqrt(beta),
        sp.log(p**3 * 4) - 3 * sp.log(p) - 2 * sp.log(2),                     # logs
    ],
)
def test_is_zero_proves_true_identities(expr):
    assert is_zero(expr, definitions=DEFINITIONS).zero


@pytest.mark.parametrize(
    "expr",
    [
        (p + 1) ** 2 / (p + 1) - p,
        sp.sqrt(alpha_bar) - sp.sqrt(alpha) * alpha_bar_prev,                # missing sqrt
        sp.log(p**3) - 2 * sp.log(p),
        (1 - alpha_bar_prev) / (1 - alpha_bar) * beta - beta,                # beta_tilde vs beta
    ],
)
def test_is_zero_rejects_false_identities(expr):
    out = is_zero(expr, definitions=DEFINITIONS)
    assert not out.zero
    assert out.residual is not None and out.residual != 0


def test_induction_on_symbolic_sum_limit():
    f = sp.Function("f")
    n = sym("n_test", __import__("ddpm_theory.domains", fromlist=["TIMESTEP"]).TIMESTEP, "n")
    k = sp.Symbol("k", integer=True)
    telescoping = sp.Sum(f(k - 1) - f(k), (k, 2, n)) - (f(1) - f(n))
    assert is_zero(telescoping).zero
    assert not is_zero(sp.Sum(f(k - 1) - f(k), (k, 2, n)) - (f(2) - f(n))).zero
    gauss = sp.Sum(k, (k, 1, n)) - n * (n + 1) / 2
    assert is_zero(gauss).zero
    assert not is_zero(sp.Sum(k, (k, 1, n)) - n**2 / 2).zero


# -- Gaussian expectations: moment rule vs an independent oracle ------------------------
@pytest.mark.parametrize("k", range(0, 9))
def test_raw_moments_match_scipy(k):
    m, v = sp.Rational(3, 10), sp.Rational(7, 5)
    exact = float(gaussian_raw_moment(k, m, v))
    # scipy's moment of N(0.3, sqrt(1.4)); relative 1e-12: both are exact up to rounding
    assert exact == pytest.approx(stats.norm(0.3, 1.4**0.5).moment(k), rel=1e-12, abs=1e-14)


def test_moment_rule_agrees_with_quadrature():
    e = GaussE(x**4 - 3 * x + p, x, 2 * p, p**2)
    pts = sample_points({p}, 8, 1)
    assert compare(e, e.doit(), pts, 0).agree
    assert not compare(e, e.doit() + sp.Rational(1, 10**30), pts, 0).agree


# -- the numeric check is an independent second line ----------------------------------
def test_numeric_check_catches_a_wrong_domain_assumption():
    # log(x^2) = 2 log x is false for x < 0: the symbolic line does not split the log of
    # a factor of unproved sign, and the 50-digit check at points of the declared domain
    # (all reals) disagrees.
    res = one_step(sp.log(x**2), 2 * sp.log(x)).verify()
    assert res.status is Status.FAILED
    assert "numeric disagreement" in res.steps[0].message


def test_numeric_check_tolerance_is_tight():
    pts = sample_points({p}, 32, 0)
    assert not compare(p, p * (1 + sp.Float("1e-35", 50)), pts, 0).agree


# -- verdicts -------------------------------------------------------------------------------
def test_failing_step_reports_where_why_and_a_counterexample():
    res = one_step((1 - alpha_bar_prev) / (1 - alpha_bar) * beta, beta).verify()
    assert res.status is Status.FAILED and not res.ok
    s = res.steps[0]
    for piece in ("test-one-step", "part A", "step 1", "(standard, x)", "symbolic remainder",
                  "numeric disagreement"):
        assert piece in s.message
    assert s.counterexample and set(s.counterexample) >= {"alpha_t", "alphabar_tm1"}
    with pytest.raises(AssertionError, match="test-one-step"):
        res.raise_for_status()


def test_claimed_false_step_is_refuted_with_counterexample():
    res = one_step(sp.sqrt(p**2 + 1), p + 1, claimed_false=True).verify()
    assert res.status is Status.REFUTED and res.expected is Status.REFUTED and res.ok
    assert res.steps[0].counterexample


def test_claimed_false_step_that_is_true_fails():
    res = one_step(sp.sqrt(p**2), p, claimed_false=True).verify()
    assert res.status is Status.FAILED and not res.ok
    assert "claimed false but the symbolic check proves it" in res.steps[0].message


def test_inequality_step_checks_its_gap():
    good = one_step(p**2 + 1, sp.Integer(1), relation=Relation.GE, gap=p**2).verify()
    assert good.status is Status.VERIFIED
    wrong_gap = one_step(p**2 + 1, sp.Integer(1), relation=Relation.GE, gap=p).verify()
    assert wrong_gap.status is Status.FAILED
    negative = one_step(x - 1, x, relation=Relation.GE, gap=sp.Integer(-1)).verify()
    assert negative.status is Status.FAILED and "gap negative" in negative.steps[0].message


def test_equal_up_to_constant():
    ok = one_step((x - 1) ** 2, x**2 - 2 * x, relation=Relation.EQ_CONST, wrt=(x,)).verify()
    assert ok.status is Status.VERIFIED
    bad = one_step((x - 1) ** 2, x**2 - x, relation=Relation.EQ_CONST, wrt=(x,)).verify()
    assert bad.status is Status.FAILED


def test_undecided_is_never_a_pass():
    # sin² + cos² − 1 is outside the decision procedures' classes: without the
    # time-boxed simplify fallback the answer is "not shown zero", never a pass by default.
    trig = sp.sin(p) ** 2 + sp.cos(p) ** 2 - 1
    assert not is_zero(trig, fallback_seconds=0).zero
    out = is_zero(trig, fallback_seconds=5)
    assert out.zero and "simplify" in out.method


# -- registry and citations ---------------------------------------------------------------
def test_unknown_derivation_lists_known_names():
    with pytest.raises(registry.UnknownDerivationError) as exc:
        registry.get("no-such-derivation")
    for name in ("forward-marginal", "bayes-posterior", "gaussian-kl"):
        assert name in str(exc.value)


def test_registry_rejects_duplicate_names():
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("forward-marginal")(lambda: None)


def test_citation_source_must_be_known():
    with pytest.raises(ValueError, match="unknown source"):
        Citation("Somebody 2099", "Eq. 1")
    assert str(Citation("Ho et al. 2020", "Eq. 7")) == "(Ho et al. 2020, Eq. 7)"


def test_every_registered_derivation_is_as_expected():
    for d in registry.all_derivations():
        res = d.verify()
        assert res.ok, res.report()
        assert len(res.steps) >= 1
        assert all(st.citation or st.rule for st in res.steps)


def test_every_step_cites_or_its_part_cites():
    for d in registry.all_derivations():
        assert d.cites, f"{d.name} has no citation"
        for part, _, _ in d.steps:
            assert part.start_rule, f"{d.name}/{part.title} has no premise"


def test_results_are_frozen():
    res = registry.get("forward-marginal").verify()
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.status = Status.FAILED  # type: ignore[misc]


def test_nan_is_a_disagreement():
    pts = sample_points({p}, 4, 0)
    assert not compare(sp.nan * p, sp.nan * p, pts, 0).agree
    res = one_step(p / (p - p), p).verify()  # zoo: cannot evaluate, cannot pass
    assert res.status is Status.FAILED


def test_exponentials_share_generators():
    g = sym("g_test", REAL, "g")
    assert is_zero(1 / (1 + sp.exp(g)) - sp.exp(-g) / (1 + sp.exp(-g)), fallback_seconds=0).zero
    assert is_zero(sp.exp(-g - p) * sp.exp(g) - sp.exp(-p), fallback_seconds=0).zero
    assert not is_zero(sp.exp(-g) * sp.exp(g) - 2, fallback_seconds=0).zero


def test_limits_and_integrals_checked_both_ways():
    h = sym("h_test", POSITIVE, "h")
    lim = sp.Limit((sp.exp(p + h) - sp.exp(p)) / h, h, 0)
    ok = one_step(lim, sp.exp(p)).verify()
    assert ok.status is Status.VERIFIED and "mpmath50" in ok.steps[0].method
    assert one_step(lim, sp.exp(p) * (1 + sp.Rational(1, 10**20))).verify().status is (
        Status.FAILED)
    integral = sp.Integral(sp.exp(-x**2 / 2) * x**2, (x, 0, p))
    anti = sp.integrate(sp.exp(-x**2 / 2) * x**2, (x, 0, p))
    assert one_step(integral, anti).verify().status is Status.VERIFIED
    pts = sample_points({p}, 8, 3)
    assert not compare(integral, anti + sp.Float("1e-38", 50), pts, 0).agree


def test_temporary_registration_restores_the_registry():
    import dataclasses as dc

    from ddpm_theory.symbolic.derivations import posterior
    from ddpm_theory.symbolic.notation import beta as b

    before = registry.names()
    original = registry.get("bayes-posterior")
    broken = posterior.build(beta_tilde=b)
    with registry.temporary(broken):
        assert registry.get("bayes-posterior") is broken
    assert registry.get("bayes-posterior") is original
    with registry.temporary(dc.replace(original, name="test-temporary")):
        assert "test-temporary" in registry.names()
    assert registry.names() == before
