"""The exact shortcuts of the two lines of the engine: Gauss–Legendre for a polynomial
integrand (numeric check) and the gcd-free zero test of a rational function (symbolic
procedures) -- each still rejects the plausible wrong variant."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp

from ddpm_theory.domains import POSITIVE, REAL
from ddpm_theory.symbolic.expectation import gauss_legendre_rule
from ddpm_theory.symbolic.notation import sym
from ddpm_theory.symbolic.numeric_check import compare, sample_points
from ddpm_theory.symbolic.procedures import is_zero

a = sym("a_exact", REAL, "a")
b = sym("b_exact", POSITIVE, "b")
v = sp.Symbol("v_exact", real=True)


@pytest.mark.parametrize("n", [1, 2, 3, 6])
def test_gauss_legendre_rule_is_exact_below_degree_2n_and_not_at_2n(n):
    zs, ws = gauss_legendre_rule(n, 130)
    with mpmath.workdps(60):
        for k in range(2 * n):
            exact = mpmath.mpf(2) / (k + 1) if k % 2 == 0 else mpmath.mpf(0)
            assert abs(mpmath.fsum(w * z**k for z, w in zip(zs, ws)) - exact) < 1e-55
        k = 2 * n  # the first degree the rule cannot take
        miss = mpmath.fsum(w * z**k for z, w in zip(zs, ws)) - mpmath.mpf(2) / (k + 1)
        assert abs(miss) > 1e-6


def test_polynomial_integral_matches_its_antiderivative_and_rejects_a_slip():
    f = a / 2 + a**2 * v / 3 + v**4 / 5  # degree 4 in v: three Gauss–Legendre nodes
    lo, hi = sp.exp(-b), b + 1
    integral = sp.Integral(f, (v, lo, hi))
    anti = sp.integrate(f, (v, lo, hi))
    pts = sample_points({a, b}, 16, 5)
    assert compare(integral, anti, pts, 0).agree
    assert not compare(integral, anti * (1 + sp.Rational(1, 10**30)), pts, 0).agree
    # the slip of integrating v^4 to v^5/4 instead of v^5/5
    slip = anti - (hi**5 - lo**5) / 25 + (hi**5 - lo**5) / 20
    assert not compare(integral, slip, pts, 0).agree


def test_rational_zero_with_and_without_a_common_factor():
    assert is_zero((a**2 - b**2) / (a - b) - (a + b), fallback_seconds=0).zero
    assert is_zero(1 / (a + b) + 1 / (a - b) - 2 * a / (a**2 - b**2), fallback_seconds=0).zero
    out = is_zero((a**2 - b**2) / (a - b) - (a + 2 * b), fallback_seconds=0)
    assert not out.zero
    assert sp.expand(out.residual + b) == 0  # reported in lowest terms


def test_radical_relations_still_decide_after_the_shortcut():
    assert is_zero(sp.sqrt(b) ** 3 / b - sp.sqrt(b), fallback_seconds=0).zero
    assert not is_zero(sp.sqrt(b + 1) * sp.sqrt(b) - b, fallback_seconds=0).zero


def test_memoised_signs_follow_the_scope_of_the_lookup():
    from ddpm_theory.domains import UNIT_OPEN
    from ddpm_theory.symbolic.procedures import make_lookup
    from ddpm_theory.symbolic.signs import decide_sign

    s = sp.Symbol("s_exact_sign", real=True)
    f = 1 - s
    assert decide_sign(f, make_lookup({s: UNIT_OPEN})) == 1
    assert decide_sign(f, make_lookup({s: REAL})) == 0  # the same f, another scope
    assert decide_sign(f, make_lookup({s: POSITIVE})) == 0
    assert decide_sign(f, make_lookup({s: UNIT_OPEN})) == 1
