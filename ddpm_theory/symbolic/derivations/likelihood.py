"""The theory behind the likelihood computations beyond the bound.

* ``instantaneous-change-of-variables``: along a flow dx/ds = f(x, s), log p_s(x_s)
  changes at the rate −∇·f (Chen et al. 2018, Theorem 1); the divergence of the
  probability-flow drift f = −½β(x − ε̂/σ) (Song et al. 2021, Eq. 13) is
  −½β(D − ∇·ε̂/σ); and for Gaussian data with the exact score the continuity
  equation holds with that sign.
* ``respaced-chain-marginals``: the sub-chain β'_i = 1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}}
  (Nichol & Dhariwal 2021, Sec. 4) has ∏_{j≤i}(1 − β'_j) = ᾱ_{τ_i}, and the
  parent steps it skips compose into one Gaussian step of variance β'_i.
"""

from __future__ import annotations

import sympy as sp

from ...domains import ALPHA, ALPHA_BAR, POSITIVE, REAL, UNIT_OPEN, VARIANCE
from ..engine import Derivation, Part, Step
from ..notation import sym
from ..registry import register
from ._common import HO, cite, gaussian_logpdf

ICOV = "instantaneous-change-of-variables"
RESPACED = "respaced-chain-marginals"
CHEN, SONG, ND = "Chen et al. 2018", "Song et al. 2021", "Nichol & Dhariwal 2021"

h = sym("h_icv", REAL, r"h")
j11, j12, j21, j22 = (sym(f"J{a}{b}", REAL, rf"J_{{{a}{b}}}") for a, b in
                      ((1, 1), (1, 2), (2, 1), (2, 2)))
x1, x2, x = (sym(n, REAL, latex) for n, latex in (("x1", "x_1"), ("x2", "x_2"), ("x", "x")))
beta = sym("beta_s", POSITIVE, r"\beta(s)")
sigma = sym("sigma_s", UNIT_OPEN, r"\sigma(s)")
a_coef = tuple(sym(f"a{k}_drift", REAL, rf"a_{k}") for k in range(6))
s_time = sym("s_time", POSITIVE, r"s")
gam = sym("gamma_c", POSITIVE, r"c")
v0 = sym("v0", VARIANCE, r"v_0")


# -- instantaneous change of variables -------------------------------------------------------
def jacobi_part() -> Part:
    J = sp.Matrix([[j11, j12], [j21, j22]])
    det = (sp.eye(2) + h * J).det()
    tr, dt = j11 + j22, j11 * j22 - j12 * j21
    return Part(
        title="One Euler step changes the log-density at the rate −tr J",
        lhs=r"\lim_{h\to0}\left(-\frac{d}{dh}\log\det(I + hJ)\right)",
        start=sp.Limit(-sp.diff(sp.log(det), h), h, 0),
        start_rule=("x ↦ x + h f(x) has Jacobian I + hJ, J = ∂f/∂x; the change of variables "
                    "log p_{s+h}(x + hf) = log p_s(x) − log|det(I + hJ)| (det > 0 near h = 0), "
                    "differentiated in h (2 × 2 shown; the expansion is the same for any D)"),
        cite=cite(CHEN, "Theorem 1"),
        steps=(
            Step(sp.Limit(-(tr + 2 * h * dt) / (1 + h * tr + h**2 * dt), h, 0),
                 "det(I + hJ) = 1 + h tr J + h² det J, so d/dh log det = (tr J + 2h det J)/det",
                 cite("standard", "determinant of a 2 × 2 matrix")),
            Step(-tr, "at h = 0 the determinant is 1: the rate is −tr J = −∇·f",
                 cite(CHEN, "Appendix A")),
        ),
    )


def drift_divergence_part(target: sp.Expr | None = None) -> Part:
    eps1 = a_coef[0] * x1 + a_coef[1] * x2 + a_coef[2] * x1 * x2 + a_coef[3] * x1**2
    eps2 = a_coef[4] * x1 * x2 + a_coef[5] * x2**2
    f1 = -beta / 2 * (x1 - eps1 / sigma)
    f2 = -beta / 2 * (x2 - eps2 / sigma)
    div_eps = sp.diff(eps1, x1) + sp.diff(eps2, x2)
    target = -beta / 2 * (2 - div_eps / sigma) if target is None else target
    return Part(
        title="The divergence of the probability-flow drift",
        lhs=r"\nabla\cdot f,\ f = -\tfrac12\beta(s)\left(x - \hat\epsilon(x, s)/\sigma(s)\right)",
        start=sp.diff(f1, x1) + sp.diff(f2, x2),
        start_rule=("the probability-flow drift of the VP SDE, with the score −ε̂/σ; D = 2 and "
                    "a polynomial ε̂ with symbolic coefficients stand in for a network"),
        cite=cite(SONG, "Eq. 13"),
        steps=(
            Step(-beta / 2 * (1 + 1) + beta / (2 * sigma) * (sp.diff(eps1, x1)
                                                            + sp.diff(eps2, x2)),
                 "linearity of ∂/∂x_i: ∂x_i/∂x_i = 1 for each of the D = 2 coordinates",
                 cite("standard", "linearity of the derivative")),
            Step(target, "∇·x = D: ∇·f = −½β(D − ∇·ε̂/σ)", cite(SONG, "App. D.2")),
        ),
    )


def continuity_part(target: sp.Expr | None = None) -> Part:
    ab = sp.exp(-gam * s_time)  # ᾱ(s) for a constant rate β(s) = c
    v = ab * v0 + 1 - ab  # Var x_s for x_0 ~ N(0, v0) (Ho et al. 2020, Eq. 4)
    logp = gaussian_logpdf(x, 0, v)
    eps_hat = sp.sqrt(1 - ab) * x / v  # −σ ∂_x log p: the exact ε-predictor
    f = -gam / 2 * (x - eps_hat / sp.sqrt(1 - ab))
    target = -sp.diff(f, x) if target is None else target
    return Part(
        title="With the exact score the log-density along the flow changes at −∇·f",
        lhs=r"\partial_s \log p_s(x) + f(x, s)\,\partial_x \log p_s(x)",
        start=sp.diff(logp, s_time) + f * sp.diff(logp, x),
        start_rule=("d/ds log p_s(x_s) along dx/ds = f, for x_0 ~ N(0, v_0) in one dimension "
                    "with ᾱ(s) = e^{−cs} (β = c), p_s = N(0, ᾱv_0 + 1 − ᾱ), and f the "
                    "probability-flow drift with the exact ε̂ = σx/Var(x_s)"),
        cite=cite(SONG, "Eq. 13"),
        steps=(
            Step(gam / 2 * (1 - 1 / v), "collect the terms in x²: they cancel (the continuity "
                 "equation ∂_s p + ∂_x(fp) = 0 holds for the exact score)", cite(HO, "Eq. 4")),
            Step(target, "−∂_x f = ½c(1 − 1/Var(x_s)): the rate is minus the divergence",
                 cite(CHEN, "Theorem 1")),
        ),
    )


def build_icov(div_target: sp.Expr | None = None,
               continuity_target: sp.Expr | None = None) -> Derivation:
    return Derivation(
        name=ICOV,
        title="The instantaneous change of variables for the probability-flow ODE",
        statement=(r"\log p_{\epsilon}(x) = \log p_T(x_T) + \int_{\epsilon}^{T}\nabla\cdot f"
                   r"(x_s, s)\,ds,\quad \nabla\cdot f = -\tfrac12\beta(s)\Big(D - "
                   r"\frac{\nabla\cdot\hat\epsilon(x_s, s)}{\sigma(s)}\Big)"),
        premises=(r"\frac{dx}{ds} = f(x, s) = -\tfrac12\beta(s)\big(x - \hat\epsilon(x,s)/"
                  r"\sigma(s)\big)",
                  r"\nabla_x\log p_s(x) = -\hat\epsilon(x, s)/\sigma(s)"),
        cites=(cite(CHEN, "Theorem 1"), cite(SONG, "Eq. 13, App. D.2")),
        summary=("The log-density along a flow changes at minus the divergence of its drift; "
                 "for the probability-flow drift that divergence is −½β(D − ∇·ε̂/σ), and "
                 "with the exact score the sign is confirmed by the continuity equation."),
        parts=(jacobi_part(), drift_divergence_part(div_target),
               continuity_part(continuity_target)),
        definitions={},
    )


# -- the respaced chain -------------------------------------------------------------------
ab_prev = sym("abar_prev", ALPHA_BAR, r"\bar\alpha_{\tau_{i-1}}")
ab_i = sym("abar_i", ALPHA_BAR, r"\bar\alpha_{\tau_i}")
abs3 = tuple(sym(f"abar_tau{k}", ALPHA_BAR, rf"\bar\alpha_{{\tau_{k}}}") for k in (1, 2, 3))
al1, al2 = sym("alpha_p", ALPHA, r"\alpha_{p}"), sym("alpha_q", ALPHA, r"\alpha_{q}")
al3 = sym("alpha_r", ALPHA, r"\alpha_{r}")
#: β'_1, β'_2, β'_3 and β'_i as symbols, defined from the kept ᾱ's by the derivation, so
#: that the products stay visible (SymPy would cancel them on sight)
BP3 = tuple(sym(f"beta_resp_{k}", UNIT_OPEN, rf"\beta'_{k}") for k in (1, 2, 3))
BPI = sym("beta_resp_i", UNIT_OPEN, r"\beta'_i")


def beta_prime(ab_now: sp.Expr, ab_before: sp.Expr) -> sp.Expr:
    """β'_i = 1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}} (Nichol & Dhariwal 2021, Sec. 4)."""
    return 1 - ab_now / ab_before


def telescoping_part() -> Part:
    a1, a2, a3 = abs3
    return Part(
        title="Three kept steps: the sub-chain's ᾱ' telescopes to ᾱ_{τ_3}",
        lhs=r"\prod_{j=1}^{3}(1 - \beta'_j)",
        start=sp.Mul(*[1 - b for b in BP3]),
        start_rule="ᾱ'_3 = ∏_{j≤3}(1 − β'_j) (Ho et al. 2020, Eq. 4 for the sub-chain), "
                   "with ᾱ_{τ_0} = 1",
        cite=cite(ND, "Sec. 4"),
        steps=(
            Step(sp.Mul(a1, a2 / a1, a3 / a2, evaluate=False),
                 "each factor is 1 − β'_j = ᾱ_{τ_j}/ᾱ_{τ_{j−1}}", cite(ND, "Sec. 4")),
            Step(a3, "the product telescopes", cite("standard", "telescoping product")),
        ),
    )


def induction_part() -> Part:
    return Part(
        title="Any number of kept steps: the induction step",
        lhs=r"\bar\alpha'_{i-1}(1 - \beta'_i)",
        start=ab_prev * (1 - BPI),
        start_rule=("ᾱ'_i = ᾱ'_{i−1}(1 − β'_i), with the hypothesis ᾱ'_{i−1} = ᾱ_{τ_{i−1}} "
                    "(base: ᾱ'_0 = ᾱ_{τ_0} = 1)"),
        cite=cite(ND, "Sec. 4"),
        steps=(
            Step(ab_prev - ab_prev * BPI, "expand", cite("standard", "algebra")),
            Step(ab_i, "ᾱ_{τ_{i−1}}β'_i = ᾱ_{τ_{i−1}} − ᾱ_{τ_i}: ᾱ'_i = ᾱ_{τ_i}, so "
                       "q(x_{τ_i}|x_0) is unchanged", cite(HO, "Eq. 4")),
        ),
    )


def composition_part(target: sp.Expr | None = None) -> Part:
    target = 1 - al1 * al2 * al3 if target is None else target
    return Part(
        title="Skipped parent steps compose into one step of variance β'_i",
        lhs=r"\mathrm{Var}(x_{\tau_i}\mid x_{\tau_{i-1}})",
        start=al3 * (al2 * (1 - al1) + (1 - al2)) + (1 - al3),
        start_rule=("three parent steps x ↦ √α x + √(1 − α) ε with α = α_p, α_q, α_r and "
                    "independent noises (Ho et al. 2020, Eq. 2): each step scales the "
                    "variance so far by α and adds 1 − α"),
        cite=cite(HO, "Eq. 2"),
        steps=(
            Step(al3 * (1 - al1 * al2) + (1 - al3),
                 "the first two steps: α_q(1 − α_p) + 1 − α_q = 1 − α_pα_q",
                 cite("standard", "variance of independent sums")),
            Step(target, "and the third: 1 − α_pα_qα_r = 1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}} = β'_i "
                         "when the skipped steps are p, q, r (ᾱ_{τ_i} = ᾱ_{τ_{i−1}}α_pα_qα_r)",
                 cite(ND, "Sec. 4")),
        ),
    )


def build_respaced(bp=beta_prime, composition_target: sp.Expr | None = None) -> Derivation:
    return Derivation(
        name=RESPACED,
        title="The respaced chain keeps the marginals of the kept steps",
        statement=(r"\beta'_i = 1 - \frac{\bar\alpha_{\tau_i}}{\bar\alpha_{\tau_{i-1}}}"
                   r"\ \Longrightarrow\ \prod_{j\le i}(1-\beta'_j) = \bar\alpha_{\tau_i},"
                   r"\quad q'(x_{\tau_i}\mid x_0) = q(x_{\tau_i}\mid x_0)"),
        premises=(r"1 \le \tau_1 < \dots < \tau_K = T,\ \bar\alpha_{\tau_0} = 1",
                  r"\beta'_i = 1 - \bar\alpha_{\tau_i}/\bar\alpha_{\tau_{i-1}}"),
        cites=(cite(ND, "Sec. 4"), cite(HO, "Eq. 4")),
        summary=("The K-step sub-chain has the same q(x_{τ_i}|x_0) as the T-step chain, so "
                 "its bound bounds the same likelihood and a T-step model serves it at τ_i."),
        parts=(telescoping_part(), induction_part(), composition_part(composition_target)),
        definitions={BP3[0]: bp(abs3[0], 1), BP3[1]: bp(abs3[1], abs3[0]),
                     BP3[2]: bp(abs3[2], abs3[1]), BPI: bp(ab_i, ab_prev)},
    )


register(ICOV)(build_icov)
register(RESPACED)(build_respaced)
