"""The forward-process posterior q(x_{t−1} | x_t, x_0) = N(μ̃_t, β̃_t I).

Bayes' rule under the Markov property (the homework's eq. 7), then completing the
square in x_{t−1} in the log of q(x_t|x_{t−1}) q(x_{t−1}|x_0): the coefficients are
*read off* the expanded quadratic, not typed in, and only the last step compares them
with the textbook forms of Ho et al. (2020, Eqs. 6–7).  Then the ε-form of the mean
(Ho et al. 2020, Eq. 11 context), the degenerate case t = 1, and the full density
identity with normalising constants.
"""

from __future__ import annotations

import sympy as sp

from ...domains import POSITIVE, REAL
from ..engine import Derivation, Part, Premise, Relation, Step
from ..notation import (
    alpha,
    alpha_1,
    alpha_bar,
    alpha_bar_prev,
    beta,
    beta_1,
    eps,
    sym,
    x0,
    xt,
    xtm1,
)
from ..registry import register
from ._common import HO, HW, cite, coefficients, gaussian_logpdf

NAME = "bayes-posterior"

#: textbook forms (Ho et al. 2020, Eq. 7) -- the *targets* of the last steps
MU_TILDE = (sp.sqrt(alpha_bar_prev) * beta / (1 - alpha_bar) * x0
            + sp.sqrt(alpha) * (1 - alpha_bar_prev) / (1 - alpha_bar) * xt)
BETA_TILDE = (1 - alpha_bar_prev) / (1 - alpha_bar) * beta
MU_TILDE_EPS = (xt - beta / sp.sqrt(1 - alpha_bar) * eps) / sp.sqrt(alpha)

# density values as positive symbols (Part 1)
qA = sym("q_step", POSITIVE, r"q(x_t \mid x_{t-1})")
qA0 = sym("q_step_x0", POSITIVE, r"q(x_t \mid x_{t-1}, x_0)")
qB = sym("q_prev", POSITIVE, r"q(x_{t-1} \mid x_0)")
qC = sym("q_post", POSITIVE, r"q(x_{t-1} \mid x_t, x_0)")
qD = sym("q_marg", POSITIVE, r"q(x_t \mid x_0)")
qJ = sym("q_joint", POSITIVE, r"q(x_{t-1}, x_t \mid x_0)")


#: the forward process is Markov (Ho et al. 2020, Eq. 2): a modelling assumption
MARKOV = Premise(
    "Markov property",
    r"q(x_t \mid x_{t-1}, x_0) = q(x_t \mid x_{t-1})",
    {qA0: qA},
    cite(HO, "Eq. 2"),
)


def bayes_part() -> Part:
    return Part(
        title="Bayes' rule under the Markov property",
        lhs=r"q(x_t \mid x_{t-1})",
        start=qA,
        start_rule="the forward transition density",
        cite=cite(HW, "eq. 7"),
        steps=(
            Step(qA0, "Markov property: given x_{t−1}, x_t does not depend on x_0",
                 cite(HO, "Eq. 2")),
            Step(qJ / qB, "chain rule: $q(x_{t−1}, x_t|x_0) = q(x_t|x_{t−1}, x_0) q(x_{t−1}|x_0)$",
                 cite("standard", "product rule")),
            Step(qC * qD / qB,
                 "chain rule the other way: q(x_{t−1}, x_t|x_0) = q(x_{t−1}|x_t, x_0) q(x_t|x_0)",
                 cite(HW, "eq. 7")),
        ),
    )


def square_part(mu_target: sp.Expr, var_target: sp.Expr) -> Part:
    start = (gaussian_logpdf(xt, sp.sqrt(alpha) * xtm1, beta)
             + gaussian_logpdf(xtm1, sp.sqrt(alpha_bar_prev) * x0, 1 - alpha_bar_prev))
    A, B = coefficients(start, xtm1)  # read off: start = −A/2 x² + B x + const
    return Part(
        title="Completing the square in x_{t−1}",
        lhs=r"\log q(x_{t-1} \mid x_t, x_0) + \text{const}(x_{t-1})",
        start=start,
        start_rule=(
            "by Bayes' rule above, log q(x_{t−1}|x_t,x_0) = log q(x_t|x_{t−1}) + "
            "log q(x_{t−1}|x_0) − log q(x_t|x_0); the last term does not involve x_{t−1}; "
            "q(x_{t−1}|x_0) = N(√ᾱ_{t−1} x_0, 1 − ᾱ_{t−1}) is the forward marginal"
        ),
        cite=cite(HO, "Eqs. 2, 4"),
        steps=(
            Step(-A / 2 * xtm1**2 + B * xtm1,
                 "expand and keep the terms in x_{t−1}: the coefficient A of −x²/2 and B "
                 "of x are read off the expansion",
                 cite("standard", "expanding a quadratic"),
                 relation=Relation.EQ_CONST, wrt=(xtm1,)),
            Step(-A / 2 * (xtm1 - B / A) ** 2,
                 "complete the square: $−A/2 x² + B x = −A/2 (x − B/A)² + B²/(2A)$",
                 cite("standard", "completing the square"),
                 relation=Relation.EQ_CONST, wrt=(xtm1,)),
            Step(-((xtm1 - mu_target) ** 2) / (2 * var_target),
                 "$1/A = (1 − ᾱ_{t−1}) β_t / (1 − ᾱ_t) = β̃_t$ and $B/A = μ̃_t$, using "
                 "$α_t(1 − ᾱ_{t−1}) + β_t = 1 − ᾱ_t$",
                 cite(HO, "Eq. 7")),
            Step(gaussian_logpdf(xtm1, mu_target, var_target),
                 "a density whose log is −(x − μ̃)²/(2β̃) + const is N(μ̃, β̃): add the "
                 "normalising constant", cite(HO, "Eq. 6"),
                 relation=Relation.EQ_CONST, wrt=(xtm1,)),
        ),
    )


def density_identity_part(mu_target: sp.Expr, var_target: sp.Expr) -> Part:
    marg = (xt - sp.sqrt(alpha_bar) * x0) ** 2 / (2 * (1 - alpha_bar))
    prev = (xtm1 - sp.sqrt(alpha_bar_prev) * x0) ** 2 / (2 * (1 - alpha_bar_prev))
    return Part(
        title="The derived posterior satisfies Bayes' rule exactly",
        lhs=r"\log q(x_t \mid x_{t-1})",
        start=gaussian_logpdf(xt, sp.sqrt(alpha) * xtm1, beta),
        start_rule="the forward transition (Ho et al. 2020, Eq. 2)",
        cite=cite(HO, "Eq. 2"),
        steps=(
            Step(-sp.log(2 * sp.pi * beta) / 2 - (xtm1 - mu_target) ** 2 / (2 * var_target)
                 - marg + prev,
                 "the exponents: add and subtract the exponent of q(x_{t−1}|x_0); completing "
                 "the square (part 2) leaves the x_{t−1}-free rest −(x_t − √ᾱ_t x_0)²/(2(1 − "
                 "ᾱ_t)), the exponent of q(x_t|x_0)", cite(HO, "Eqs. 4, 7")),
            Step(gaussian_logpdf(xtm1, mu_target, var_target)
                 + gaussian_logpdf(xt, sp.sqrt(alpha_bar) * x0, 1 - alpha_bar)
                 - gaussian_logpdf(xtm1, sp.sqrt(alpha_bar_prev) * x0, 1 - alpha_bar_prev),
                 "the normalising constants: β_t = β̃_t (1 − ᾱ_t)/(1 − ᾱ_{t−1}), so "
                 "−½ log(2πβ_t) = −½ log(2πβ̃_t) − ½ log(2π(1 − ᾱ_t)) + ½ log(2π(1 − ᾱ_{t−1})): "
                 "the log of the homework's eq. 7 with the three Gaussian densities",
                 cite(HW, "eq. 7")),
        ),
    )


def eps_part(mu_target: sp.Expr, mu_eps_target: sp.Expr) -> Part:
    x0_of_eps = (xt - sp.sqrt(1 - alpha_bar) * eps) / sp.sqrt(alpha_bar)
    c0 = sp.sqrt(alpha_bar_prev) * beta / (1 - alpha_bar)  # μ̃'s coefficient of x_0
    ct = sp.sqrt(alpha) * (1 - alpha_bar_prev) / (1 - alpha_bar)
    return Part(
        title="The ε-form of the posterior mean",
        lhs=r"\tilde\mu_t\big(x_t, x_0(x_t, \epsilon)\big)",
        start=mu_target.xreplace({x0: x0_of_eps}),
        start_rule=("substitute $x_0 = (x_t − √(1 − ᾱ_t) ε)/√ᾱ_t$, from "
                    "$x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε$"),
        cite=cite(HO, "Eq. 4 and §3.2"),
        steps=(
            Step((c0 / sp.sqrt(alpha_bar) + ct) * xt
                 - c0 * sp.sqrt(1 - alpha_bar) / sp.sqrt(alpha_bar) * eps,
                 "collect x_t and ε", cite("standard", "collecting terms")),
            Step((beta / sp.sqrt(alpha) + sp.sqrt(alpha) * (1 - alpha_bar_prev))
                 / (1 - alpha_bar) * xt
                 - beta / (sp.sqrt(alpha) * sp.sqrt(1 - alpha_bar)) * eps,
                 "$√ᾱ_{t−1}/√ᾱ_t = 1/√α_t$, and $√(1 − ᾱ_t)/(1 − ᾱ_t) = 1/√(1 − ᾱ_t)$",
                 cite(HO, "Eq. 4")),
            Step(mu_eps_target,
                 "$β_t/√α_t + √α_t(1 − ᾱ_{t−1}) = (β_t + α_t − ᾱ_t)/√α_t = (1 − ᾱ_t)/√α_t$, "
                 "since $β_t + α_t = 1$", cite(HO, "Eq. 11")),
        ),
    )


#: x_1, the first noised point (the t = 1 part is written with index 1)
x1 = sym("x_1", REAL, "x_1")


def t1_part(mu_target: sp.Expr, var_target: sp.Expr) -> Part:
    # ᾱ_0 = 1 and ᾱ_1 = α_1; every t-indexed symbol is written with index 1
    at_t1 = {alpha_bar_prev: sp.Integer(1), alpha_bar: alpha_1, alpha: alpha_1, beta: beta_1,
             xt: x1}
    return Part(
        title="The degenerate case t = 1",
        lhs=r"(\tilde\mu_1,\ \tilde\beta_1)",
        start=sp.Tuple(mu_target, var_target).xreplace(at_t1),
        start_rule="ᾱ_0 = 1 (empty product), so ᾱ_1 = α_1",
        cite=cite(HO, "§3.3"),
        steps=(
            Step(sp.Tuple(x0, 0),
                 "β̃_1 = 0 and μ̃_1 = x_0: the posterior is a point mass at x_0, so L_0 "
                 "is handled by the decoder rather than a KL", cite(HO, "§3.3")),
        ),
    )


def build(mu_tilde: sp.Expr = MU_TILDE, beta_tilde: sp.Expr = BETA_TILDE,
          mu_tilde_eps: sp.Expr = MU_TILDE_EPS) -> Derivation:
    return Derivation(
        name=NAME,
        title="The forward-process posterior q(x_{t−1} | x_t, x_0)",
        statement=(
            r"q(x_{t-1} \mid x_t, x_0) = \mathcal{N}(x_{t-1};\ \tilde\mu_t, \tilde\beta_t I),\quad "
            r"\tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\beta_t}{1-\bar\alpha_t}x_0 + "
            r"\frac{\sqrt{\alpha_t}(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}x_t,\quad "
            r"\tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\beta_t"
        ),
        premises=(
            r"q(x_t \mid x_{t-1}) = \mathcal{N}(\sqrt{\alpha_t}\,x_{t-1}, \beta_t I)",
            r"q(x_t \mid x_0) = \mathcal{N}(\sqrt{\bar\alpha_t}\,x_0, (1-\bar\alpha_t) I)"
            r"\ \text{(forward-marginal)}",
            r"\bar\alpha_t = \bar\alpha_{t-1}\alpha_t,\ \alpha_t = 1 - \beta_t",
        ),
        cites=(cite(HO, "Eqs. 6–7"), cite(HW, "eq. 7")),
        summary=(
            "The product of two Gaussian densities in x_{t−1} is Gaussian in x_{t−1}; its "
            "precision is α_t/β_t + 1/(1 − ᾱ_{t−1}) = 1/β̃_t."
        ),
        parts=(
            bayes_part(),
            square_part(mu_tilde, beta_tilde),
            density_identity_part(mu_tilde, beta_tilde),
            eps_part(mu_tilde, mu_tilde_eps),
            t1_part(mu_tilde, beta_tilde),
        ),
        definitions={
            beta: 1 - alpha,
            beta_1: 1 - alpha_1,
            alpha_bar: alpha_bar_prev * alpha,
            qJ: qA0 * qB,
            qC: qJ / qD,
        },
        assumptions=(MARKOV,),
        exports={
            "posterior_mean_coef_x0": MU_TILDE.coeff(x0),
            "posterior_mean_coef_xt": MU_TILDE.coeff(xt),
            "posterior_variance": BETA_TILDE,
            "posterior_mean_eps_coef_xt": 1 / sp.sqrt(alpha),
            "posterior_mean_eps_coef_eps": -beta / (sp.sqrt(1 - alpha_bar) * sp.sqrt(alpha)),
        },
    )


register(NAME)(build)
