"""``ddpm_theory.check``: true, false with a certified counterexample, or could not decide;
the docs' examples; every topic of the registry with its hidden-slip variants; errors a
person understands; assumptions."""

from __future__ import annotations

import pytest
import sympy as sp
from topics import TOPICS

import ddpm_theory
from ddpm_theory.identity import (
    AssumptionError,
    ParseError,
    UnknownSymbolError,
    Verdict,
    check,
    parse_relation,
)
from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.notation import alpha, beta

EQ10_PRINTED = (
    r"\tilde\mu_t(x_t, x_0) = \frac{\sqrt{\bar\alpha_{t-1}}\beta_t}{1-\bar\alpha_t}x_0 + "
    r"\frac{\sqrt{\bar\alpha_t}(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}x_t")
EPS_WEIGHT = (r"\frac{\beta_t^2}{2\sigma_t^2\alpha_t(1-\bar\alpha_t)} = "
              r"\frac{1}{2}\left(\frac{\mathrm{SNR}(t-1)}{\mathrm{SNR}(t)} - 1\right)")


def test_every_topic_of_the_registry_has_true_and_false_identities():
    assert set(TOPICS) == set(registry.names())
    for topic, items in TOPICS.items():
        verdicts = {want for _, _, want in items}
        assert {"true", "false"} <= verdicts, topic


CASES = [(topic, *item) for topic, items in TOPICS.items() for item in items]


@pytest.mark.parametrize(("topic", "identity", "kw", "want"), CASES,
                         ids=[f"{c[0]}-{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_topic_identity_verdicts(topic, identity, kw, want):
    r = check(identity, **kw)
    assert r.verdict.value == want, r.explain()
    if want == "false":  # the point and both sides, which differ there
        assert r.counterexample and r.lhs_value and r.rhs_value
        assert r.lhs_value != r.rhs_value
        assert "counterexample" in r.explain()
    else:
        assert r.counterexample is None and bool(r) is (want == "true")


def test_homework_eq10_as_printed_is_false_with_a_counterexample():
    r = check(EQ10_PRINTED)
    assert r.verdict is Verdict.FALSE
    # the counterexample is a real disagreement: recompute both sides at the point
    p = {k: sp.Float(v.split()[0], 30) for k, v in r.counterexample.items()
         if "definition" not in v}
    env = {s: p[str(s)] for s in (r.lhs.free_symbols | r.rhs.free_symbols) if str(s) in p}
    sub = {beta: 1 - alpha}
    from ddpm_theory.identity.names import DEFINED
    from ddpm_theory.symbolic.notation import alpha_bar, alpha_bar_prev
    full = {**sub, alpha_bar: alpha_bar_prev * alpha}
    left = DEFINED["mutilde_t"][0].subs(full).subs(full).subs(env)
    right = r.rhs.subs(full).subs(full).subs(env)
    assert abs(sp.N(left - right)) > 1e-6 * (1 + abs(sp.N(left)))


def test_homework_eq10_corrected_is_true():
    fixed = EQ10_PRINTED.replace(r"\sqrt{\bar\alpha_t}(1", r"\sqrt{\alpha_t}(1")
    assert check(fixed).verdict is Verdict.TRUE


def test_eps_weight_in_snr_terms_is_true_with_sigma2_as_beta_tilde():
    assert check(EPS_WEIGHT, define=["sigma2_t", "betatilde_t"]).verdict is Verdict.TRUE
    # without the definitions σ_t² is a free variance: then it is false
    assert check(EPS_WEIGHT).verdict is Verdict.FALSE


def test_the_same_identity_in_plain_and_latex_syntax():
    plain = parse_relation("beta_t^2/(2*sigma2_t*alpha_t*(1-alphabar_t)) = "
                           "(SNR(t-1)/SNR(t) - 1)/2")
    latex = parse_relation(EPS_WEIGHT)
    assert sp.simplify(plain.lhs - latex.lhs) == 0 and sp.simplify(plain.rhs - latex.rhs) == 0
    assert latex.latex and not plain.latex


def test_a_typo_lists_the_close_names():
    with pytest.raises(UnknownSymbolError, match=r"'betta_t'.*beta_t"):
        check("alpha_t = 1 - betta_t")
    with pytest.raises(UnknownSymbolError, match="alphabar_t"):
        check("alpha_bart = 1")


def test_unknown_functions_and_products_written_as_calls():
    with pytest.raises(UnknownSymbolError, match="'f'"):
        check("f(x_t) = 1")
    # "alpha_t(1 - beta_t)" is a product, in both syntaxes
    assert check("alpha_t(1 - beta_t) = alpha_t^2").verdict is Verdict.TRUE
    assert check(r"\alpha_t(1 - \beta_t) = \alpha_t^2").verdict is Verdict.TRUE
    with pytest.raises(ParseError, match=r"SNR\(t \+ 1\) is not in the notation"):
        check("SNR(t+1) = 1")


@pytest.mark.parametrize(("text", "pos"), [
    ("alpha_t = 1 - beta_t +* 2", 22),      # the '*'
    ("alpha_t = (1 - beta_t", 10),          # the unclosed '('
    ("alpha_t = 1 - beta_t )", 21),         # the unmatched ')'
])
def test_a_parse_error_points_at_the_character(text, pos):
    with pytest.raises(ParseError) as info:
        check(text)
    lines = str(info.value).splitlines()
    assert lines[1] == "  " + text
    assert lines[2].index("^") - 2 == pos, str(info.value)


def test_input_without_one_relation_is_refused():
    with pytest.raises(ParseError, match="no relation"):
        check("alpha_t + 1")
    with pytest.raises(ParseError, match="more than one"):
        check("alpha_t = 1 - beta_t = 2")
    with pytest.raises(ParseError, match="strict inequality"):
        check("alpha_t < 1")


def test_an_identity_true_only_under_an_assumption_says_which():
    text = "log((1 - 2*beta_t)^2) = 2*log(1 - 2*beta_t)"
    r = check(text, assume=["beta_t < 1/2"])
    assert r.verdict is Verdict.TRUE
    assert r.without_assumptions is not None
    assert r.without_assumptions.verdict is Verdict.FALSE
    assert "holds only under beta_t < 1/2" in r.explain()
    assert check(text).verdict is Verdict.FALSE
    # the other side of the assumption is refuted too
    assert check(text, assume=["beta_t >= 0.6"]).verdict is Verdict.FALSE


def test_assumptions_narrow_the_domain_through_the_definition():
    r = check("alpha_t >= 0.98", assume=["beta_t < 0.02"])
    assert r.verdict is Verdict.TRUE and r.domains["alpha_t"] == "(0.98, 1)"
    assert check("alpha_t >= 0.99", assume=["beta_t < 0.02"]).verdict is Verdict.FALSE
    r = check("alpha_t <= 0.5", assume=["0.1 < alpha_t <= 0.5"])
    assert r.verdict is Verdict.TRUE and r.domains["alpha_t"] == "(0.1, 0.5]"
    # both ends closed: the sign procedure has no rational map onto [lo, hi], so the gap
    # is not certified -- could not decide, never a false "false"
    r = check("alpha_t <= 0.5", assume=["0.1 <= alpha_t <= 0.5"])
    assert r.verdict is Verdict.UNDECIDED and r.domains["alpha_t"] == "[0.1, 0.5]"


def test_bad_assumptions_are_refused():
    with pytest.raises(AssumptionError, match="leaves nothing"):
        check("alpha_t = 1 - beta_t", assume=["beta_t > 2"])
    with pytest.raises(AssumptionError, match="one symbol"):
        check("alpha_t = 1 - beta_t", assume=["alpha_t = 0.5"])
    with pytest.raises(AssumptionError, match="defined as"):
        check("alpha_t = 1 - beta_t", assume=["alphabar_t < 0.5"])


def test_could_not_decide_is_not_false():
    # true on the assumed domain, but the procedures leave √((1 − 2β)²) unreduced
    r = check("sqrt((1 - 2*beta_t)^2) = 1 - 2*beta_t", assume=["beta_t <= 1/2"])
    assert r.verdict is Verdict.UNDECIDED and not r
    assert "symbolic remainder" in r.reason and r.counterexample is None
    assert "could not decide" in r.explain()


def test_definable_names_are_free_unless_asked_for():
    assert check("betatilde_t = (1-alphabar_tm1)/(1-alphabar_t)*beta_t").verdict is (
        Verdict.FALSE)
    with pytest.raises(ParseError, match="definable by name"):
        check("alpha_t = 1 - beta_t", define=["alpha_t"])


def test_sympy_relations_and_the_top_level_name():
    assert ddpm_theory.check(sp.Eq(alpha, 1 - beta)).verdict is Verdict.TRUE
    assert ddpm_theory.check(sp.Ge(alpha, 1 - beta)).verdict is Verdict.TRUE
    assert ddpm_theory.check(sp.Le(alpha, 1 - 2 * beta, evaluate=False)).verdict is (
        Verdict.FALSE)
    with pytest.raises(TypeError, match="evaluate=False"):
        ddpm_theory.check(sp.Le(alpha, -beta))  # SymPy already made it False


def test_the_counterexample_shown_is_an_ordinary_point():
    r = check("alpha_t*(1-alphabar_tm1) + beta_t^2 = 1 - alphabar_t")
    assert r.verdict is Verdict.FALSE
    values = [float(v.split()[0]) for v in r.counterexample.values()]
    assert all(1e-4 < v < 1 for v in values), r.counterexample


def test_no_witness_for_a_true_relation():
    from ddpm_theory.identity.check import _definitions, identity_derivation
    from ddpm_theory.identity.witness import readable_counterexample

    for text in ("alpha_t*(1-alphabar_tm1) + beta_t = 1 - alphabar_t",
                 "log(alpha_t) <= alpha_t - 1"):
        d = identity_derivation(parse_relation(text), _definitions(()), {})
        assert readable_counterexample(d, 0) is None
    slip = identity_derivation(parse_relation("log(alpha_t) <= alpha_t - 2"),
                               _definitions(()), {})
    assert readable_counterexample(slip, 0) is not None
