"""The optimal reverse variance and its two limits (Ho et al. 2020, §3.2).

For Gaussian data x_0 ~ N(0, s²) the true reverse step is Gaussian; with the Bayes-optimal
mean μ*(x_t) = E[x_{t−1} | x_t], the expected L_{t−1} as a function of σ_t² is
½(log(σ_t²/β̃_t) + σ*²/σ_t² − 1) with σ*² = β̃_t + E(μ̃_t − μ*)² = Var[x_{t−1} | x_t]
= β_t V_{t−1}/V_t, V_t = ᾱ_t s² + 1 − ᾱ_t (law of total variance).  It is minimised at
σ_t² = σ*², and σ*² = β_t for x_0 ~ N(0, I) (s² = 1) while σ*² = β̃_t for a point mass
(s² → 0): Ho et al.'s two choices are the two extremes.
"""

from __future__ import annotations

import sympy as sp

from ...domains import REAL, VARIANCE
from ..engine import Derivation, Part, Relation, Step
from ..expectation import GaussE
from ..notation import alpha, alpha_bar, alpha_bar_prev, beta, sigma2, sym, x0, xt
from ..registry import register
from ._common import HO, cite
from .posterior import BETA_TILDE, MU_TILDE

NAME = "optimal-reverse-variance"

s2 = sym("s2_data", VARIANCE, "s^2")
e1 = sym("e_1", REAL, r"\epsilon'")
e2 = sym("e_2", REAL, r"\epsilon''")

V_PREV = alpha_bar_prev * s2 + 1 - alpha_bar_prev      # Var[x_{t−1}]
V_T = alpha_bar * s2 + 1 - alpha_bar                   # Var[x_t]
SIGMA_STAR = beta * V_PREV / V_T                       # Var[x_{t−1} | x_t]


def _joint(f):
    """E over x_0 ~ N(0, s²), ε', ε'' ~ N(0, 1) of f(x_{t−1}, x_t)."""
    xp = sp.sqrt(alpha_bar_prev) * x0 + sp.sqrt(1 - alpha_bar_prev) * e1
    xn = sp.sqrt(alpha) * xp + sp.sqrt(beta) * e2
    return GaussE(GaussE(GaussE(f(xp, xn), e2, 0, 1), e1, 0, 1), x0, 0, s2)


def regression_part(coef) -> Part:
    return Part(
        title="The Bayes-optimal mean: a regression on x_t",
        lhs=r"(\mathrm{Cov}(x_{t-1}, x_t),\ \mathrm{Var}(x_t))",
        start=sp.Tuple(_joint(lambda a, b: a * b), _joint(lambda a, b: b**2)),
        start_rule=("x_{t−1} = √ᾱ_{t−1} x_0 + √(1 − ᾱ_{t−1}) ε', x_t = √α_t x_{t−1} + √β_t ε'' "
                    "with x_0 ~ N(0, s²): (x_{t−1}, x_t) is jointly Gaussian with mean 0"),
        cite=cite(HO, "Eq. 2"),
        steps=(Step(sp.Tuple(sp.sqrt(alpha) * V_PREV, V_T),
                    "Gaussian moments; for a jointly Gaussian pair E[x_{t−1}|x_t] = "
                    "Cov/Var · x_t = c x_t", cite("standard", "Gaussian conditioning")),
               Step(sp.Tuple(coef * V_T, V_T),
                    "c = √α_t V_{t−1}/V_t, V_s = ᾱ_s s² + 1 − ᾱ_s",
                    cite("standard", "Gaussian conditioning"))),
    )


def expected_loss_part(sigma_star) -> Part:
    coef = sp.sqrt(alpha) * V_PREV / V_T
    sq = (MU_TILDE - coef * xt) ** 2
    at = lambda v: (sp.log(v / BETA_TILDE) + sigma_star / v - 1) / 2  # noqa: E731
    return Part(
        title="E[L_{t−1}] as a function of σ_t², and its minimiser",
        lhs=r"\mathbb{E}_{x_0, x_t}\,\mathrm{KL}(q(x_{t-1}|x_t,x_0)\,\|\,"
            r"\mathcal{N}(\mu^*(x_t), \sigma_t^2))",
        start=(sp.log(sigma2 / BETA_TILDE) - 1) / 2 + (
            BETA_TILDE + GaussE(GaussE(sq, xt, sp.sqrt(alpha_bar) * x0, 1 - alpha_bar),
                                x0, 0, s2)) / (2 * sigma2),
        start_rule=("the closed-form KL (gaussian-kl) ½(log(σ_t²/β̃_t) + (β̃_t + (μ̃_t − μ*)²)"
                    "/σ_t² − 1) between the posterior N(μ̃_t, β̃_t) and the reverse step with "
                    "the Bayes-optimal mean μ* = c x_t, averaged over x_0 ~ N(0, s²) and "
                    "x_t | x_0 ~ N(√ᾱ_t x_0, 1 − ᾱ_t); only (μ̃_t − μ*)² depends on them"),
        cite=cite(HO, "§3.2"),
        steps=(
            Step(at(sigma2),
                 "Gaussian moments: β̃_t + E(μ̃_t − μ*)² = Var[x_{t−1}|x_t] = β_t V_{t−1}/V_t "
                 "(law of total variance)", cite("standard", "law of total variance")),
            Step(at(sigma_star),
                 "r − 1 − log r ≥ 0 with r = σ*²/σ_t²: the minimum is at σ_t² = σ*² = "
                 "Var[x_{t−1}|x_t]", cite(HO, "§3.2"), relation=Relation.GE,
                 gap=(sigma_star / sigma2 - 1 - sp.log(sigma_star / sigma2)) / 2),
        ),
    )


def limit_parts(sigma_star) -> tuple[Part, Part]:
    return (
        Part(
            title="Data x_0 ~ N(0, I): σ*² = β_t",
            lhs=r"\sigma^{*2} - \beta_t",
            start=sigma_star - beta,
            start_rule="the distance of the optimum to the upper choice β_t",
            cite=cite(HO, "§3.2"),
            steps=(Step(beta * (V_PREV - V_T) / V_T, "over the common denominator V_t",
                        cite("standard", "algebra")),
                   Step(beta * (alpha_bar_prev - alpha_bar) * (s2 - 1) / V_T,
                        "V_{t−1} − V_t = (ᾱ_{t−1} − ᾱ_t)(s² − 1): zero at s² = 1, so σ*² = β_t "
                        "for x_0 ~ N(0, I) (and σ*² < β_t for s² < 1, as ᾱ_{t−1} > ᾱ_t)",
                        cite(HO, "§3.2"))),
        ),
        Part(
            title="A point mass x_0 = 0 (s² → 0): σ*² = β̃_t",
            lhs=r"\sigma^{*2} - \tilde\beta_t",
            start=sigma_star - BETA_TILDE,
            start_rule="the distance of the optimum to the lower choice β̃_t = "
                       "(1 − ᾱ_{t−1}) β_t/(1 − ᾱ_t)",
            cite=cite(HO, "Eq. 7"),
            steps=(Step(beta * (V_PREV * (1 - alpha_bar) - V_T * (1 - alpha_bar_prev))
                        / (V_T * (1 - alpha_bar)), "over the common denominator V_t (1 − ᾱ_t)",
                        cite("standard", "algebra")),
                   Step(beta * s2 * (alpha_bar_prev - alpha_bar) / (V_T * (1 - alpha_bar)),
                        "the constant terms cancel: the distance is proportional to s², "
                        "continuous, and 0 at s² = 0, so σ*² → β̃_t for a point mass",
                        cite(HO, "§3.2"))),
        ),
    )


def build(sigma_star=SIGMA_STAR, coef=None) -> Derivation:
    coef = sp.sqrt(alpha) * V_PREV / V_T if coef is None else coef
    return Derivation(
        name=NAME,
        title="The optimal reverse variance for Gaussian data, and its limits β_t and β̃_t",
        statement=(
            r"\arg\min_{\sigma_t^2}\mathbb{E}[L_{t-1}] = \mathrm{Var}[x_{t-1}|x_t] = "
            r"\frac{\beta_t(\bar\alpha_{t-1}s^2 + 1 - \bar\alpha_{t-1})}{\bar\alpha_t s^2 + "
            r"1 - \bar\alpha_t}\ \xrightarrow{s^2=1}\ \beta_t,\quad\xrightarrow{s^2\to0}"
            r"\ \tilde\beta_t"
        ),
        premises=(r"x_0 \sim \mathcal{N}(0, s^2)",
                  r"\mu_\theta = \mathbb{E}[x_{t-1}|x_t]\ \text{(Bayes-optimal mean)}"),
        cites=(cite(HO, "§3.2"),),
        summary=("σ_t² = β_t is optimal for x_0 ~ N(0, I) and σ_t² = β̃_t for x_0 deterministic "
                 "(Ho et al. 2020, §3.2); for s² in between, σ*² lies between them."),
        parts=(regression_part(coef), expected_loss_part(sigma_star), *limit_parts(sigma_star)),
        exports={"optimal_sigma2_gaussian_data": SIGMA_STAR},
    )


register(NAME)(build)
