"""From an expectation over the forward chain to the expected KL of L_{t−1}
(Ho et al. 2020, Eq. 5; homework eq. 8): the tower property, as two lemmas.

A function f(x_{t−1}, x_t) of two neighbouring states has the same expectation under the
whole chain q(x_{1:T}|x_0) as under the pair's law q(x_{t−1}, x_t|x_0): every other state
integrates out (each conditional integrates to 1; a premise).  That law factorises two
ways (Markov, Bayes),

    q(x_{t−1}|x_0) q(x_t|x_{t−1}) = q(x_t|x_0) q(x_{t−1}|x_t, x_0),

so E[f] may be taken with x_{t−1} drawn first (ancestral sampling, the chain) or with x_t
drawn first and x_{t−1} from the posterior last.

``tower-property``
    The two orders agree for every quadratic f (six free coefficients; a Gaussian pair's
    law is fixed by its moments up to order two, which is all a quadratic sees).  The pair
    is parameterised from the posterior side -- x_t|x_0 ~ N(M, V), x_{t−1}|x_t,x_0 ~
    N(A x_t + B, S), any M, A, B and V, S > 0 -- and the forward side is *computed* from it.
    A second part shows that the DDPM pair of step t is such a pair: with ᾱ_{t−1}, α_t ∈
    (0, 1) (a symbolic t ≥ 2) and the posterior of bayes-posterior, the computed forward
    side is q(x_{t−1}|x_0) = N(√ᾱ_{t−1} x_0, 1 − ᾱ_{t−1}) and q(x_t|x_{t−1}) =
    N(√α_t x_{t−1}, β_t).
``marginalisation-to-kl``
    For f = log q(x_{t−1}|x_t,x_0) − log p_θ(x_{t−1}|x_t) with p_θ(x_{t−1}|x_t) =
    N(k x_t + h, σ_t²) (any affine mean): the tower property *applied* (the instance
    computed by the engine from the coefficients of f, read off), then the inner
    expectation is the KL, and its x_t-mean splits into a squared bias, a variance and the
    θ-free constant of mean-matching.
"""

from __future__ import annotations

import sympy as sp

from ...domains import REAL, VARIANCE
from ..certificates import Apply
from ..engine import Derivation, Part, Step
from ..expectation import GaussE
from ..notation import alpha, alpha_bar, alpha_bar_prev, beta, sigma2, sym, x0, xt
from ..registry import register
from ._common import HO, HW, cite, gaussian_logpdf
from .kl import kl_univariate
from .posterior import BETA_TILDE, MU_TILDE

NAME = "marginalisation-to-kl"
TOWER_NAME = "tower-property"
TOWER = "Tower property: x_{t−1} integrated last"
KL_PART = "The L_{t−1} integrand: its chain expectation is the expected KL"

y = sym("x_tm1_int", REAL, r"x_{t-1}")          # x_{t−1}, integrated
M = sym("M_pair", REAL, "M")                    # x_t | x_0 ~ N(M, V)
V = sym("V_pair", VARIANCE, "V")
A = sym("A_pair", REAL, "A")                    # x_{t−1} | x_t, x_0 ~ N(A x_t + B, S)
B = sym("B_pair", REAL, "B")
S = sym("S_pair", VARIANCE, "S")
k_rev = sym("k_rev", REAL, "k")                 # p_θ(x_{t−1}|x_t) = N(k x_t + h, σ_t²)
h_rev = sym("h_rev", REAL, "h")
C = [sym(f"c_f{j}", REAL, rf"c_{j}") for j in range(6)]
MONOMIALS = ((0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2))

# the forward side, computed from the posterior side (joint Gaussian)
PREV_MEAN, PREV_VAR = A * M + B, A**2 * V + S                 # x_{t−1} | x_0
FWD_SLOPE = A * V / PREV_VAR                                   # x_t | x_{t−1}, x_0
FWD_SHIFT = M - FWD_SLOPE * PREV_MEAN
FWD_VAR = V * S / PREV_VAR
#: the DDPM pair of step t (bayes-posterior): μ̃_t = A x_t + B, β̃_t = S
DDPM_PAIR = {M: sp.sqrt(alpha_bar) * x0, V: 1 - alpha_bar, A: sp.diff(MU_TILDE, xt),
             B: MU_TILDE.xreplace({xt: 0}), S: BETA_TILDE}


def quadratic(u: sp.Expr, x: sp.Expr) -> sp.Expr:
    """The generic quadratic f(x_{t−1}, x_t)."""
    return sp.Add(*[c * u**i * x**j for c, (i, j) in zip(C, MONOMIALS)])


def log_ratio(u: sp.Expr, x: sp.Expr) -> sp.Expr:
    """log q(x_{t−1}|x_t, x_0) − log p_θ(x_{t−1}|x_t) at x_{t−1} = u, x_t = x."""
    return gaussian_logpdf(u, A * x + B, S) - gaussian_logpdf(u, k_rev * x + h_rev, sigma2)


def chain_expectation(f) -> sp.Expr:
    """E over x_{t−1} ~ q(x_{t−1}|x_0), then x_t ~ q(x_t|x_{t−1}, x_0) (ancestral)."""
    return GaussE(GaussE(f(y, xt), xt, FWD_SLOPE * y + FWD_SHIFT, FWD_VAR),
                  y, PREV_MEAN, PREV_VAR)


def posterior_expectation(f) -> sp.Expr:
    """E over x_t ~ q(x_t|x_0), then x_{t−1} ~ q(x_{t−1}|x_t, x_0)."""
    return GaussE(GaussE(f(y, xt), y, A * xt + B, S), xt, M, V)


def tower_part(target=None) -> Part:
    inner = GaussE(quadratic(y, FWD_SLOPE * y + FWD_SHIFT) + C[5] * FWD_VAR,
                   y, PREV_MEAN, PREV_VAR)
    target = posterior_expectation(quadratic) if target is None else target
    return Part(
        title=TOWER,
        lhs=r"\mathbb{E}_{q(x_{t-1}|x_0)}\mathbb{E}_{q(x_t|x_{t-1})}[f(x_{t-1}, x_t)]",
        start=chain_expectation(quadratic),
        start_rule=("ancestral sampling of the pair: x_{t−1} ~ N(AM + B, A²V + S), then x_t "
                    "given x_{t−1} with slope AV/(A²V + S) and variance VS/(A²V + S) (the "
                    "joint Gaussian conditioned the other way)"),
        cite=cite(HW, "eq. 8"),
        steps=(
            Step(inner, "the inner expectation over x_t: its mean replaces x_t and its "
                        "variance adds c_5 VS/(A²V + S)",
                 cite("standard", "moments of a Gaussian")),
            Step(sp.expand(GaussE(inner.args[0], y, PREV_MEAN, PREV_VAR).doit()),
                 "the outer expectation over x_{t−1}: E[x_{t−1}] = AM + B, "
                 "E[x_{t−1}²] = A²V + S + (AM + B)²", cite("standard", "moments of a Gaussian")),
            Step(target, "the same number with x_t drawn first and x_{t−1} from the posterior "
                         "last: q(x_{t−1}|x_0) q(x_t|x_{t−1}) = q(x_t|x_0) q(x_{t−1}|x_t, x_0)",
                 cite(HO, "Eqs. 6–7")),
        ),
    )


def ddpm_pair_part(target=None) -> Part:
    forward = sp.Tuple(PREV_MEAN, PREV_VAR, FWD_SLOPE, FWD_SHIFT, FWD_VAR)
    target = sp.Tuple(sp.sqrt(alpha_bar_prev) * x0, 1 - alpha_bar_prev, sp.sqrt(alpha), 0,
                      beta) if target is None else target
    return Part(
        title="The DDPM pair of step t is such a pair",
        lhs=r"(\mathbb{E}[x_{t-1}|x_0],\ \mathrm{Var}[x_{t-1}|x_0],\ \text{slope},\ "
            r"\text{shift},\ \text{variance of } x_t|x_{t-1})",
        start=forward.xreplace(DDPM_PAIR),
        start_rule=("the computed forward side at M = √ᾱ_t x_0, V = 1 − ᾱ_t, A x_t + B = μ̃_t, "
                    "S = β̃_t (bayes-posterior)"),
        cite=cite(HO, "Eq. 7"),
        steps=(
            Step(sp.Tuple(sp.sqrt(alpha_bar_prev) * x0, 1 - alpha_bar_prev,
                          sp.sqrt(alpha) * (1 - alpha_bar) / (1 - alpha_bar),
                          FWD_SHIFT.xreplace(DDPM_PAIR), beta * (1 - alpha_bar) / (1 - alpha_bar)),
                 "A M + B = √ᾱ_{t−1} x_0 and A²V + S = 1 − ᾱ_{t−1}: the marginal at t − 1 "
                 "(forward-marginal)", cite(HO, "Eq. 4")),
            Step(target, "the slope is √α_t, the shift M − √α_t √ᾱ_{t−1} x_0 = 0 and the "
                         "variance β_t: the forward step q(x_t|x_{t−1})", cite(HO, "Eq. 2")),
        ),
    )


def coefficients(f=log_ratio) -> dict[sp.Symbol, sp.Expr]:
    """The six coefficients of ``f`` as a quadratic in (x_{t−1}, x_t), read off."""
    poly = sp.Poly(sp.expand(f(y, xt)), y, xt)
    if set(poly.monoms()) - set(MONOMIALS):
        raise ValueError("the integrand is not a quadratic in (x_{t-1}, x_t)")
    return {c: poly.coeff_monomial(y**i * xt**j) for c, (i, j) in zip(C, MONOMIALS)}


def expected_kl() -> sp.Expr:
    return GaussE(kl_univariate(A * xt + B, S, k_rev * xt + h_rev, sigma2), xt, M, V)


def kl_part(target=None) -> Part:
    coef = coefficients()
    target = expected_kl() if target is None else target
    return Part(
        title=KL_PART,
        lhs=r"\mathbb{E}_{q(x_{1:T}|x_0)}\Big[\log\frac{q(x_{t-1}|x_t,x_0)}"
            r"{p_\theta(x_{t-1}|x_t)}\Big]",
        start=chain_expectation(quadratic).xreplace(coef),
        start_latex=(r"\mathbb{E}_{q(x_{t-1}|x_0)}\mathbb{E}_{q(x_t|x_{t-1})}\Big[\log"
                     r"\frac{q(x_{t-1}|x_t,x_0)}{p_\theta(x_{t-1}|x_t)}\Big]"),
        start_rule=("the L_{t−1} integrand depends on x_{t−1}, x_t only (the other states "
                    "integrate out); as a quadratic in (x_{t−1}, x_t) its coefficients "
                    "c_0..c_5 are read off"),
        cite=cite(HW, "eq. 8"),
        steps=(
            Step(posterior_expectation(quadratic).xreplace(coef),
                 "the tower property (tower-property) with those coefficients",
                 cite(HO, "Eqs. 6–7"), certificate=Apply(TOWER_NAME, TOWER, coef),
                 latex=(r"\mathbb{E}_{q(x_t|x_0)}\mathbb{E}_{q(x_{t-1}|x_t,x_0)}"
                        r"\big[c_0 + c_1 x_{t-1} + \dots + c_5 x_t^2\big]")),
            Step(posterior_expectation(log_ratio),
                 "the coefficients are those of log q(x_{t−1}|x_t,x_0) − log p_θ(x_{t−1}|x_t)",
                 cite("standard", "algebra")),
            Step(target, "the inner expectation of the log-ratio under q(x_{t−1}|x_t,x_0) is, "
                         "by definition, their KL (gaussian-kl)", cite(HO, "Eq. 5")),
        ),
    )


def split_part() -> Part:
    err = (A - k_rev) * xt + B - h_rev
    return Part(
        title="The expected KL: squared bias, variance and the θ-free constant",
        lhs=r"\mathbb{E}_{q(x_t|x_0)}\big[\mathrm{KL}(q(x_{t-1}|x_t,x_0)\,\|\,"
            r"p_\theta(x_{t-1}|x_t))\big]",
        start=expected_kl(),
        start_rule="the end of the previous part",
        cite=cite(HO, "Eq. 8"),
        steps=(
            Step(GaussE(err**2 / (2 * sigma2), xt, M, V) + kl_univariate(0, S, 0, sigma2),
                 "split the KL: ‖μ̃_t − μ_θ‖²/(2σ_t²) (mean-matching) plus the KL at equal "
                 "means, which does not depend on x_t", cite(HO, "Eq. 8")),
            Step(((A - k_rev) * M + B - h_rev) ** 2 / (2 * sigma2)
                 + (A - k_rev) ** 2 * V / (2 * sigma2) + kl_univariate(0, S, 0, sigma2),
                 "E[err²] = (E err)² + Var err with err affine in x_t ~ N(M, V)",
                 cite("standard", "moments of a Gaussian")),
        ),
    )


def build_tower(target=None, pair_target=None) -> Derivation:
    return Derivation(
        name=TOWER_NAME,
        title="The tower property on a Gaussian pair of the chain",
        statement=(
            r"\mathbb{E}_{q(x_{t-1}|x_0)}\mathbb{E}_{q(x_t|x_{t-1})}[f] = "
            r"\mathbb{E}_{q(x_t|x_0)}\mathbb{E}_{q(x_{t-1}|x_t,x_0)}[f]\quad "
            r"\text{for every quadratic } f(x_{t-1}, x_t)"
        ),
        premises=(
            r"x_t|x_0 \sim \mathcal{N}(M, V),\ x_{t-1}|x_t,x_0 \sim \mathcal{N}(A x_t + B, S)",
        ),
        cites=(cite(HO, "Eqs. 2, 4, 7"), cite("standard", "tower property")),
        summary=("The pair (x_{t−1}, x_t) has one law, sampled forwards or through the "
                 "posterior; a quadratic sees its moments up to order two."),
        parts=(tower_part(target), ddpm_pair_part(pair_target)),
    )


def build(kl_target=None) -> Derivation:
    return Derivation(
        name=NAME,
        title="Marginalising the chain: L_{t−1} is an expected KL",
        statement=(
            r"\mathbb{E}_{q(x_{1:T}|x_0)}\Big[\log\frac{q(x_{t-1}|x_t,x_0)}{p_\theta(x_{t-1}|x_t)}"
            r"\Big] = \mathbb{E}_{q(x_t|x_0)}\Big[\mathrm{KL}\big(q(x_{t-1}|x_t,x_0)\,\|\,"
            r"p_\theta(x_{t-1}|x_t)\big)\Big]"
        ),
        premises=(
            r"q(x_{1:T}|x_0) = \prod_t q(x_t|x_{t-1})\ \text{(Markov)};\ \text{every other "
            r"state integrates out (each conditional integrates to } 1)",
            r"x_t|x_0 \sim \mathcal{N}(M, V),\ q(x_{t-1}|x_t,x_0) = \mathcal{N}(A x_t + B, S)"
            r"\ \text{(the DDPM pair: tower-property)}",
            r"p_\theta(x_{t-1}|x_t) = \mathcal{N}(k x_t + h, \sigma_t^2)",
        ),
        cites=(cite(HO, "Eq. 5"), cite(HW, "eq. 8")),
        summary=("The passage from the chain's expectation to E_{q(x_t|x_0)}[KL]: "
                 "the tower property with x_{t−1} integrated last."),
        parts=(kl_part(kl_target), split_part()),
    )


register(TOWER_NAME)(build_tower)
register(NAME)(build)
