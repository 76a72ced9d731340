"""The optimal reverse variance for an arbitrary data law (Bao et al. 2022, Theorem 1).

With the Bayes-optimal mean μ*(x_t) = E[μ̃_t(x_t, x_0) | x_t], the expected L_{t−1} as a
function of a fixed reverse variance σ_t² is ½(log(σ_t²/β̃_t) + (β̃_t + D)/σ_t² − 1),
D = E(μ̃_t − μ*)², minimised at σ_t² = β̃_t + D.  μ̃_t is affine in x_0, so D is the mean
posterior variance of x_0 scaled by c_0² (c_0 = √ᾱ_{t−1} β_t/(1 − ᾱ_t)); in noise
coordinates Var[x_0|x_t] = (1 − ᾱ_t)/ᾱ_t Var[ε|x_t], and E[ε|x_t] = −√(1 − ᾱ_t) ∇ log q_t
(score-eps-equivalence).  Averaging over x_t (E ε² = 1):

    σ*_t² = β̃_t + β_t²/(α_t (1 − ᾱ_t)) · (1 − (1 − ᾱ_t) E_{q_t}(∇ log q_t)²),

Bao et al.'s λ_t² + (√(β̄_t/α_t) − √(β̄_{t−1} − λ_t²))² (1 − β̄_t E‖∇ log q_t‖²/d) at
λ_t² = β̃_t, d = 1.  For Gaussian data x_0 ~ N(0, s²) it is β_t V_{t−1}/V_t, the answer
of optimal-reverse-variance.  The conditional steps are checked on the data law with K
atoms (``_law``; three atoms, written out); the average over x_t enters through
J = E(∇ log q_t)².
"""

from __future__ import annotations

import sympy as sp

from ...domains import POSITIVE, REAL, VARIANCE
from ..engine import Derivation, Part, Relation, Step
from ..expectation import GaussE
from ..notation import alpha, alpha_bar, alpha_bar_prev, beta, sigma2, sym, xt
from ..registry import register
from ._common import cite
from ._law import LAW3 as L
from ._law import LAW_PREMISE, ab, eps_of
from .posterior import BETA_TILDE
from .variances import SIGMA_STAR, V_T

NAME = "analytic-dpm-variance"
BAO = "Bao et al. 2022"

D = sym("D_mean_err", VARIANCE, r"\mathbb{E}(\tilde\mu_t - \mu^*)^2")
J = sym("J_score", POSITIVE, r"\mathbb{E}_{q_t}(\nabla\log q_t)^2")
C0 = sp.sqrt(alpha_bar_prev) * beta / (1 - alpha_bar)         # μ̃_t's coefficient of x_0
C1 = sp.sqrt(alpha) * (1 - alpha_bar_prev) / (1 - alpha_bar)  # ... and of x_t
c0 = sym("c0_aff", REAL, "c_0")                                # any affine map's coefficients
c1 = sym("c1_aff", REAL, "c_1")
sc = sym("score_t", REAL, r"\nabla\log q_t(x_t)")
e2 = sym("e2_post", POSITIVE, r"\mathbb{E}[\epsilon^2\mid x_t]")
GAIN = beta**2 / (alpha * (1 - alpha_bar))                      # c_0² (1 − ᾱ_t)/ᾱ_t
BAO_FORM = BETA_TILDE + (sp.sqrt((1 - alpha_bar) / alpha)
                         - sp.sqrt((1 - alpha_bar_prev) - BETA_TILDE)) ** 2 * (
                             1 - (1 - alpha_bar) * J)


def optimum_part() -> Part:
    star = BETA_TILDE + D
    r = star / sigma2
    return Part(
        title="The optimal σ_t² is β̃_t + E(μ̃_t − μ*)²",
        lhs=r"\mathbb{E}[L_{t-1}](\sigma_t^2)",
        start=(sp.log(sigma2 / BETA_TILDE) + star / sigma2 - 1) / 2,
        start_rule=("the Gaussian KL between N(μ̃_t, β̃_t) and N(μ*, σ_t²), averaged: "
                    "½(log(σ_t²/β̃_t) + (β̃_t + (μ̃_t − μ*)²)/σ_t² − 1), with D the mean of "
                    "(μ̃_t − μ*)² over x_0 and x_t"),
        cite=cite(BAO, "Theorem 1"),
        steps=(
            Step((r - 1 - sp.log(r)) / 2 + sp.log(star / BETA_TILDE) / 2,
                 "split log(σ_t²/β̃_t) = log(σ*²/β̃_t) − log(σ*²/σ_t²), σ*² = β̃_t + D",
                 cite("standard", "log of a quotient")),
            Step(sp.log(star / BETA_TILDE) / 2,
                 "r − 1 − log r ≥ 0 with r = σ*²/σ_t² (log-inequality), zero only at "
                 "σ_t² = σ*² = β̃_t + D", cite(BAO, "Theorem 1"),
                 relation=Relation.GE, gap=(r - 1 - sp.log(r)) / 2),
        ),
    )


def moments_part() -> Part:
    mu = lambda a: c0 * a + c1 * xt  # noqa: E731
    m1, m2 = L.posterior_mean(lambda a: a), L.posterior_mean(lambda a: a**2)
    e1, e2 = L.posterior_mean(eps_of), L.posterior_mean(lambda a: eps_of(a) ** 2)
    root = sp.sqrt(1 - ab)
    x0_1 = (xt - root * e1) / sp.sqrt(ab)
    x0_2 = (xt**2 - 2 * xt * root * e1 + (1 - ab) * e2) / ab

    def moments(first, second):
        return sp.Tuple(c0 * first + c1 * xt, c0**2 * second + 2 * c0 * c1 * xt * first
                        + c1**2 * xt**2)

    return Part(
        title="The posterior moments of μ̃_t, a law with three atoms",
        lhs=r"\big(\mathbb{E}[\tilde\mu_t\mid x_t],\ \mathbb{E}[\tilde\mu_t^2\mid x_t]\big)",
        start=sp.Tuple(L.posterior_mean(mu), L.posterior_mean(lambda a: mu(a) ** 2)),
        start_rule=("μ̃_t(x_t, x_0) = c_0 x_0 + c_1 x_t is affine in x_0; its first two "
                    "moments under the posterior of the atoms (μ* = the first)"),
        cite=cite(BAO, "Theorem 1"),
        steps=(
            Step(moments(m1, m2), "linearity: in terms of E[x_0|x_t] and E[x_0²|x_t]",
                 cite("standard", "linearity of conditional expectation")),
            Step(moments(x0_1, x0_2),
                 "x_0 = (x_t − √(1 − ᾱ_t) ε)/√ᾱ_t: in terms of E[ε|x_t] and E[ε²|x_t]",
                 cite("Ho et al. 2020", "Eq. 4")),
            Step(moments(x0_1.xreplace({e1: -root * L.score()}), x0_2.xreplace(
                {e1: -root * L.score()})),
                 "E[ε|x_t] = −√(1 − ᾱ_t) ∇ log q_t (score-eps-equivalence)",
                 cite("standard", "the score–ε equivalence (score-eps-equivalence)")),
        ),
    )


def error_part(gain=GAIN) -> Part:
    root = sp.sqrt(1 - alpha_bar)
    m1 = (xt + root**2 * sc) / sp.sqrt(alpha_bar)
    m2 = (xt**2 + 2 * xt * root**2 * sc + root**2 * e2) / alpha_bar
    first = C0 * m1 + C1 * xt
    second = C0**2 * m2 + 2 * C0 * C1 * xt * m1 + C1**2 * xt**2
    return Part(
        title="E[(μ̃_t − μ*)²|x_t] through the score",
        lhs=r"\mathbb{E}[(\tilde\mu_t - \mu^*)^2\mid x_t]",
        start=second - first**2,
        start_rule=("the previous part's moments with DDPM's coefficients c_0 = "
                    "√ᾱ_{t−1} β_t/(1 − ᾱ_t), c_1 = √α_t (1 − ᾱ_{t−1})/(1 − ᾱ_t), the score "
                    "s = ∇ log q_t(x_t) and E[ε²|x_t] named; the error given x_t is "
                    "E[μ̃_t²|x_t] − μ*²"),
        cite=cite("Ho et al. 2020", "Eq. 7"),
        steps=(
            Step(C0**2 * (1 - alpha_bar) / alpha_bar * (e2 - (1 - alpha_bar) * sc**2),
                 "the x_t terms cancel: c_0² (1 − ᾱ_t)/ᾱ_t (E[ε²|x_t] − (1 − ᾱ_t) s²) = "
                 "c_0² Var[x_0|x_t]", cite("standard", "variance of an affine function")),
            Step(gain * (e2 - (1 - alpha_bar) * sc**2),
                 "c_0² (1 − ᾱ_t)/ᾱ_t = β_t²/(α_t (1 − ᾱ_t)) with ᾱ_t = ᾱ_{t−1} α_t",
                 cite("Ho et al. 2020", "Eq. 7")),
        ),
    )


def theorem_part(target=None) -> Part:
    target = BETA_TILDE + GAIN * (1 - (1 - alpha_bar) * J) if target is None else target
    return Part(
        title="Averaged over x_t: Bao et al.'s Theorem 1",
        lhs=r"\sigma_t^{*2}",
        start=BAO_FORM,
        start_rule=("Theorem 1 at λ_t² = β̃_t (DDPM), d = 1: λ² + (√(β̄_t/α_t) − "
                    "√(β̄_{t−1} − λ²))² (1 − β̄_t J), β̄_s = 1 − ᾱ_s, J = E(∇ log q_t)²"),
        cite=cite(BAO, "Theorem 1"),
        steps=(
            Step(BETA_TILDE + (sp.sqrt(1 - alpha_bar) / sp.sqrt(alpha) - sp.sqrt(alpha)
                               * (1 - alpha_bar_prev) / sp.sqrt(1 - alpha_bar)) ** 2
                 * (1 - (1 - alpha_bar) * J),
                 "β̄_{t−1} − β̃_t = α_t (1 − ᾱ_{t−1})²/(1 − ᾱ_t), a perfect square",
                 cite("Ho et al. 2020", "Eq. 7")),
            Step(target,
                 "the difference of the roots is β_t/√(α_t (1 − ᾱ_t)); this is β̃_t plus the "
                 "previous part averaged over x_t, with E[E[ε²|x_t]] = E ε² = 1",
                 cite(BAO, "Theorem 1")),
        ),
    )


def gaussian_part(target=SIGMA_STAR) -> Part:
    return Part(
        title="Gaussian data: the answer of optimal-reverse-variance",
        lhs=r"\sigma_t^{*2}\big|_{x_0\sim\mathcal{N}(0, s^2)}",
        start=BETA_TILDE + GAIN * (1 - (1 - alpha_bar) * GaussE((xt / V_T) ** 2, xt, 0, V_T)),
        start_rule=("x_0 ~ N(0, s²): q_t = N(0, V_t), V_t = ᾱ_t s² + 1 − ᾱ_t, whose score is "
                    "−x_t/V_t; J = E(x_t/V_t)²"),
        cite=cite(BAO, "Theorem 1"),
        steps=(
            Step(BETA_TILDE + GAIN * (1 - (1 - alpha_bar) / V_T),
                 "Gaussian moments: J = V_t/V_t² = 1/V_t", cite("standard", "Gaussian moments")),
            Step(target, "= β_t V_{t−1}/V_t = Var[x_{t−1}|x_t] (optimal-reverse-variance)",
                 cite("Ho et al. 2020", "§3.2")),
        ),
    )


def build(theorem_target=None, gaussian_target=SIGMA_STAR, gain=GAIN) -> Derivation:
    return Derivation(
        name=NAME,
        title="The optimal reverse variance for any data law (Analytic-DPM)",
        statement=(r"\sigma_t^{*2} = \tilde\beta_t + \frac{\beta_t^2}{\alpha_t(1-\bar\alpha_t)}"
                   r"\Big(1 - (1-\bar\alpha_t)\,\mathbb{E}_{q_t}\|\nabla\log q_t\|^2\Big)"),
        premises=(r"\mu^*(x_t) = \mathbb{E}[\tilde\mu_t(x_t, x_0)\mid x_t]",
                  r"\mathbb{E}\,\epsilon^2 = 1", LAW_PREMISE),
        cites=(cite(BAO, "Theorem 1"),),
        summary=("The KL-optimal reverse variance is β̃_t plus the mean posterior variance "
                 "of μ̃_t, a function of E‖∇ log q_t‖²; for Gaussian data it is "
                 "β_t V_{t−1}/V_t."),
        parts=(optimum_part(), moments_part(), error_part(gain), theorem_part(theorem_target),
               gaussian_part(gaussian_target)),
    )


register(NAME)(build)
