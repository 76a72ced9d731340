"""Tweedie's formula and the score (Efron 2011; Kingma et al. 2021; Luo 2022, §"Three
equivalent interpretations").

* The conditional score: ∇_{x_t} log q(x_t|x_0) = −ε/√(1 − ᾱ_t) at x_t = x_t(x_0, ε).
* Tweedie: E[x_0|x_t] = (x_t + (1 − ᾱ_t) ∇ log q(x_t))/√ᾱ_t for the *marginal* q(x_t):
  exactly for Gaussian data x_0 ~ N(m, s²) (the posterior mean is read off by completing
  the square), and as an identity for a two-component Gaussian mixture with arbitrary
  weights, means and variances (a point-mass mixture is its s_k → 0 case).
* For Gaussian data the best ε-predictor is E[ε|x_t] = −√(1 − ᾱ_t) ∇ log q(x_t): any other
  predictor (here any affine function of x_t) pays its squared distance to it, and the smallest
  E(ε − ε_θ)² is Var[ε|x_t] = ᾱ_t s²/(ᾱ_t s² + 1 − ᾱ_t); the smallest L_{t−1} is λ_t times
  it plus C_t (loss-weights, mean-matching).
"""

from __future__ import annotations

import sympy as sp

from ...domains import POSITIVE, REAL, UNIT_OPEN, VARIANCE
from ..engine import Derivation, Part, Relation, Step
from ..expectation import GaussE
from ..notation import eps, sym, x0, xt
from ..registry import register
from ._common import cite, coefficients, gaussian_logpdf

NAME = "tweedie-score"
EFRON = "Efron 2011"

ab = sym("abar_tw", UNIT_OPEN, r"\bar\alpha_t")
m = sym("m_tw", REAL, "m")
s2 = sym("s2_tw", VARIANCE, "s^2")
p0, p1 = (sym(f"p{k}_tw", REAL, f"p_{k}") for k in range(2))
W = [sym(f"w{k}_tw", POSITIVE, f"w_{k}") for k in (1, 2)]
M = [sym(f"m{k}_tw", REAL, f"m_{k}") for k in (1, 2)]
S = [sym(f"s{k}_mix", VARIANCE, f"s_{k}^2") for k in (1, 2)]

X_T = sp.sqrt(ab) * x0 + sp.sqrt(1 - ab) * eps


def marg_var(s):
    return ab * s + 1 - ab


def post_mean(mk, sk):
    """E[x_0 | x_t] for x_0 ~ N(m_k, s_k²): m_k + √ᾱ s_k² (x_t − √ᾱ m_k)/(ᾱ s_k² + 1 − ᾱ)."""
    return mk + sp.sqrt(ab) * sk * (xt - sp.sqrt(ab) * mk) / marg_var(sk)


def tweedie(log_q):
    return (xt + (1 - ab) * sp.diff(log_q, xt)) / sp.sqrt(ab)


def density(mk, sk):
    v = marg_var(sk)
    return sp.exp(-(xt - sp.sqrt(ab) * mk) ** 2 / (2 * v)) / sp.sqrt(2 * sp.pi * v)


def build(gauss_target=None, eps_min=None) -> Derivation:
    A, B = coefficients(gaussian_logpdf(x0, m, s2) + gaussian_logpdf(xt, sp.sqrt(ab) * x0, 1 - ab),
                        x0)
    gauss_target = post_mean(m, s2) if gauss_target is None else gauss_target
    mix = W[0] * density(M[0], S[0]) + W[1] * density(M[1], S[1])
    mix_mean = (W[0] * density(M[0], S[0]) * post_mean(M[0], S[0])
                + W[1] * density(M[1], S[1]) * post_mean(M[1], S[1])) / mix
    comp = [W[j] * density(M[j], S[j]) for j in range(2)]
    comp_score = [-(xt - sp.sqrt(ab) * M[j]) / marg_var(S[j]) for j in range(2)]
    resp_score = (comp[0] * comp_score[0] + comp[1] * comp_score[1]) / mix
    resp_tweedie = sum(c * (xt + (1 - ab) * sc) / sp.sqrt(ab)
                       for c, sc in zip(comp, comp_score)) / mix
    v = marg_var(s2)
    eps_star = -sp.sqrt(1 - ab) * sp.diff(gaussian_logpdf(xt, sp.sqrt(ab) * m, v), xt)
    eps_theta = p0 + p1 * xt
    eps_min = ab * s2 / v if eps_min is None else eps_min
    over_data = lambda f: GaussE(GaussE(f.xreplace({xt: X_T}), eps, 0, 1), x0, m, s2)  # noqa: E731
    over_xt = lambda f: GaussE(f, xt, sp.sqrt(ab) * m, v)  # noqa: E731
    parts = (
        Part(
            title="The conditional score",
            lhs=r"\nabla_{x_t}\log q(x_t|x_0)",
            start=sp.diff(gaussian_logpdf(xt, sp.sqrt(ab) * x0, 1 - ab), xt).xreplace({xt: X_T}),
            start_rule="differentiate log N(x_t; √ᾱ_t x_0, 1 − ᾱ_t), at x_t = x_t(x_0, ε)",
            cite=cite("Kingma et al. 2021", "§2"),
            steps=(
                Step(-sp.sqrt(1 - ab) * eps / (1 - ab),
                     "the Gaussian log-density's derivative −(x_t − √ᾱ_t x_0)/(1 − ᾱ_t), with "
                     "x_t − √ᾱ_t x_0 = √(1 − ᾱ_t) ε at x_t = x_t(x_0, ε)",
                     cite("Ho et al. 2020", "Eq. 4")),
                Step(-eps / sp.sqrt(1 - ab), "cancel √(1 − ᾱ_t): −ε/√(1 − ᾱ_t)",
                     cite("VAE/VDM notes", "learning gradient of x_t")),
            ),
        ),
        Part(
            title="Tweedie for Gaussian data",
            lhs=r"\big(x_t + (1-\bar\alpha_t)\nabla\log q(x_t)\big)/\sqrt{\bar\alpha_t}",
            start=tweedie(gaussian_logpdf(xt, sp.sqrt(ab) * m, v)),
            start_rule="x_0 ~ N(m, s²) gives the marginal q(x_t) = N(√ᾱ_t m, ᾱ_t s² + 1 − ᾱ_t)",
            cite=cite(EFRON, "Eq. 2.8"),
            steps=(Step(B / A, "the posterior mean of x_0 given x_t, read off by completing "
                               "the square in x_0 of log q(x_0) + log q(x_t|x_0)",
                        cite("standard", "Gaussian conditioning")),
                   Step(gauss_target, "m + √ᾱ_t s² (x_t − √ᾱ_t m)/(ᾱ_t s² + 1 − ᾱ_t)",
                        cite(EFRON, "Eq. 2.8"))),
        ),
        Part(
            title="Tweedie for a two-component Gaussian mixture",
            lhs=r"\big(x_t + (1-\bar\alpha_t)\nabla\log q(x_t)\big)/\sqrt{\bar\alpha_t}",
            start=tweedie(sp.log(mix)),
            start_rule=("x_0 ~ w_1 N(m_1, s_1²) + w_2 N(m_2, s_2²): q(x_t) is the mixture of "
                        "the components' marginals (weights need not be normalised)"),
            cite=cite(EFRON, "Eq. 2.8"),
            steps=(
                Step((xt + (1 - ab) * resp_score) / sp.sqrt(ab),
                     "the mixture's score is the responsibility-weighted average of the "
                     "components' scores −(x_t − √ᾱ_t m_k)/V_k, V_k = ᾱ_t s_k² + 1 − ᾱ_t",
                     cite("standard", "derivative of a sum")),
                Step(resp_tweedie,
                     "the responsibilities P(k|x_t) ∝ w_k q_k(x_t) sum to 1: Tweedie's "
                     "right-hand side is their average of the components' right-hand sides",
                     cite("standard", "linearity of conditional expectation")),
                Step(mix_mean, "each component's Tweedie (the previous part): E[x_0|x_t] = "
                               "Σ_k P(k|x_t) E[x_0|x_t, k]", cite(EFRON, "Eq. 2.8")),
            ),
        ),
        Part(
            title="The best ε-predictor for Gaussian data",
            lhs=r"\mathbb{E}_{x_0,\epsilon}\,(\epsilon - \epsilon_\theta(x_t))^2",
            start=over_data((eps - eps_theta) ** 2),
            start_rule=("x_0 ~ N(m, s²), ε ~ N(0, 1), x_t = x_t(x_0, ε); ε_θ any affine "
                        "p_0 + p_1 x_t (the family that contains the optimum)"),
            cite=cite("Ho et al. 2020", "Eq. 12"),
            steps=(
                Step(eps_min + over_xt((eps_star - eps_theta) ** 2),
                     "with ε*(x_t) = E[ε|x_t] = −√(1 − ᾱ_t) ∇ log q(x_t): the error splits into "
                     "Var[ε|x_t] = ᾱ_t s²/(ᾱ_t s² + 1 − ᾱ_t) and the squared distance to ε*",
                     cite("standard", "orthogonality of the conditional mean")),
                Step(eps_min, "the distance term is ≥ 0 and vanishes only for ε_θ = ε*",
                     cite("Ho et al. 2020", "Eq. 12"), relation=Relation.GE,
                     gap=over_xt((eps_star - eps_theta) ** 2)),
            ),
        ),
    )
    return Derivation(
        name=NAME,
        title="Tweedie's formula, the score, and the best ε-predictor",
        statement=(r"\nabla\log q(x_t|x_0) = -\frac{\epsilon}{\sqrt{1-\bar\alpha_t}},\quad "
                   r"\mathbb{E}[x_0|x_t] = \frac{x_t + (1-\bar\alpha_t)\nabla\log q(x_t)}"
                   r"{\sqrt{\bar\alpha_t}}"),
        premises=(r"q(x_t|x_0) = \mathcal{N}(\sqrt{\bar\alpha_t}x_0, (1-\bar\alpha_t))",),
        cites=(cite(EFRON, "Eq. 2.8"), cite("Kingma et al. 2021", "§2")),
        summary=("The ε-predictor is a scaled score of the marginal; for Gaussian data the "
                 "optimum is linear in x_t and its error is Var[ε|x_t]."),
        parts=parts,
        definitions={},
        exports={"best_eps_error_gaussian_data": ab * s2 / v},
    )


register(NAME)(build)
