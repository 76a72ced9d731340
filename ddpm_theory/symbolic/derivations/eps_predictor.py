"""The score is a scaled posterior mean of the noise, and E[ε|x_t] is the best ε-predictor
(Ho et al. 2020, Eq. 12; Efron 2011, Eq. 2.8).

* ε = (x_t − √ᾱ_t x_0)/√(1 − ᾱ_t) is a function of (x_0, x_t), so E[ε|x_t] = (x_t −
  √ᾱ_t E[x_0|x_t])/√(1 − ᾱ_t) = −√(1 − ᾱ_t) ∇ log q_t(x_t) by Tweedie (tweedie-any-law);
* at each x_t, E[(ε − g)²|x_t] = Var[ε|x_t] + (E[ε|x_t] − g)² for every value g of a
  predictor (the cross term 2 (E[ε|x_t] − E[ε|x_t])(E[ε|x_t] − g) vanishes): the minimiser
  of the ε-MSE is ε*(x_t) = E[ε|x_t] and any ε_θ pays E(ε_θ − ε*)² more;
* that excess is (1 − ᾱ_t) times the squared error of the implied score −ε_θ/√(1 − ᾱ_t).

Checked on a data law with three atoms, weights and atoms symbolic (``_law``).
"""

from __future__ import annotations

import sympy as sp

from ...domains import REAL, VARIANCE
from ..engine import Derivation, Part, Relation, Step
from ..notation import sym, xt
from ..registry import register
from ._common import HO, cite
from ._law import LAW3 as L
from ._law import LAW_PREMISE, W, ab, eps_of, k, kernel
from ._law import A as ATOM

NAME = "score-eps-equivalence"
EFRON = "Efron 2011"

g = sym("g_pred", REAL, r"\epsilon_\theta(x_t)")       # a predictor's value at x_t
s_th = sym("s_model", REAL, r"s_\theta(x_t)")          # a score model's value at x_t
v_post = sym("V_post", VARIANCE, r"\mathrm{Var}[\epsilon\mid x_t]")
c_post = sym("c_post", REAL, r"\mathbb{E}[\epsilon\mid x_t]")
sc_val = sym("score_val", REAL, r"\nabla\log q_t(x_t)")


def noise_mean() -> sp.Expr:
    return L.posterior_mean(lambda a: eps_of(a))


def noise_part(target=None) -> Part:
    mean0 = L.posterior_mean(lambda a: a)
    target = -sp.sqrt(1 - ab) * L.score() if target is None else target
    return Part(
        title="E[ε|x_t] is a scaled score",
        lhs=r"\mathbb{E}[\epsilon\mid x_t]",
        start=noise_mean(),
        start_rule=("ε = (x_t − √ᾱ_t x_0)/√(1 − ᾱ_t), averaged under the posterior "
                    "π_k ∝ w_k N(x_t; √ᾱ_t a_k, 1 − ᾱ_t) of the atoms"),
        cite=cite(HO, "Eq. 12"),
        steps=(
            Step((xt * L.marginal() - sp.sqrt(ab) * L.S(W[k] * ATOM[k] * kernel(ATOM[k])))
                 / (sp.sqrt(1 - ab) * L.marginal()),
                 "split the sum (linearity): x_t Σ w_k N_k − √ᾱ_t Σ w_k a_k N_k",
                 cite("standard", "linearity of the sum")),
            Step((xt - sp.sqrt(ab) * mean0) / sp.sqrt(1 - ab),
                 "the posterior weights sum to 1: (x_t − √ᾱ_t E[x_0|x_t])/√(1 − ᾱ_t)",
                 cite("standard", "linearity of conditional expectation")),
            Step((xt - (xt + (1 - ab) * L.score())) / sp.sqrt(1 - ab),
                 "Tweedie (tweedie-any-law): √ᾱ_t E[x_0|x_t] = x_t + (1 − ᾱ_t) ∇ log q_t",
                 cite(EFRON, "Eq. 2.8")),
            Step(target, "x_t cancels: E[ε|x_t] = −√(1 − ᾱ_t) ∇ log q_t(x_t)",
                 cite("standard", "algebra")),
        ),
    )


def mse_part() -> Part:
    m1 = noise_mean()
    m2 = L.posterior_mean(lambda a: eps_of(a) ** 2)
    return Part(
        title="The best ε-predictor: the cross term vanishes",
        lhs=r"\mathbb{E}[(\epsilon - \epsilon_\theta(x_t))^2\mid x_t]",
        start=L.posterior_mean(lambda a: (eps_of(a) - g) ** 2),
        start_rule=("the ε-MSE given x_t, for a predictor with value ε_θ(x_t) = g there "
                    "(the outer average over x_t is monotone, so the pointwise optimum is "
                    "the optimum)"),
        cite=cite(HO, "Eq. 12"),
        steps=(
            Step(m2 - 2 * g * m1 + g**2,
                 "expand the square; linearity: E[ε²|x_t] − 2 g E[ε|x_t] + g²",
                 cite("standard", "linearity of conditional expectation")),
            Step((m2 - m1**2) + 2 * (m1 - m1) * (m1 - g) + (m1 - g) ** 2,
                 "add and subtract E[ε|x_t]²: Var[ε|x_t] + cross term + (E[ε|x_t] − g)²",
                 cite("standard", "orthogonality of the conditional mean")),
            Step((m2 - m1**2) + (m1 - g) ** 2,
                 "the cross term 2 (E[ε|x_t] − E[ε|x_t])(E[ε|x_t] − g) is 0",
                 cite("standard", "orthogonality of the conditional mean")),
        ),
    )


def minimum_part(minimum=None) -> Part:
    minimum = v_post if minimum is None else minimum
    return Part(
        title="The minimiser is E[ε|x_t]",
        lhs=r"\mathbb{E}[(\epsilon - g)^2\mid x_t]",
        start=(v_post + c_post**2) - 2 * g * c_post + g**2,
        start_rule=("the expansion of the previous part, with the conditional moments named: "
                    "c = E[ε|x_t], V = Var[ε|x_t] ≥ 0, E[ε²|x_t] = V + c² (the engine's "
                    "square certificate reads names, not ratios of sums)"),
        cite=cite(HO, "Eq. 12"),
        steps=(
            Step(v_post + (c_post - g) ** 2, "complete the square in g",
                 cite("standard", "completing the square")),
            Step(minimum, "(c − g)² ≥ 0, zero only at g = c: the minimum is Var[ε|x_t], "
                          "reached by ε*(x_t) = E[ε|x_t]",
                 cite(HO, "Eq. 12"), relation=Relation.GE, gap=(c_post - g) ** 2),
        ),
    )


def excess_part() -> Part:
    root = sp.sqrt(1 - ab)
    return Part(
        title="The excess loss in score form",
        lhs=r"(\epsilon_\theta - \epsilon^*)^2",
        start=(-root * s_th + root * sc_val) ** 2,
        start_rule=("a score model s_θ as an ε-predictor, ε_θ = −√(1 − ᾱ_t) s_θ, and the best "
                    "one ε* = −√(1 − ᾱ_t) s with s = ∇ log q_t(x_t) (the first part)"),
        cite=cite(HO, "Eq. 12"),
        steps=(
            Step((root * (sc_val - s_th)) ** 2, "factor out √(1 − ᾱ_t)",
                 cite("standard", "algebra")),
            Step((1 - ab) * (s_th - sc_val) ** 2,
                 "square: the ε-excess is (1 − ᾱ_t) times the squared score error",
                 cite("standard", "algebra")),
        ),
    )


def build(noise_target=None, minimum=None) -> Derivation:
    return Derivation(
        name=NAME,
        title="The score is a scaled E[ε|x_t], the best ε-predictor",
        statement=(r"\nabla\log q_t(x_t) = -\frac{\mathbb{E}[\epsilon\mid x_t]}"
                   r"{\sqrt{1-\bar\alpha_t}},\quad \mathbb{E}\|\epsilon - \epsilon_\theta\|^2 = "
                   r"\mathbb{E}\,\mathrm{Var}[\epsilon\mid x_t] + \mathbb{E}\|\epsilon_\theta - "
                   r"\mathbb{E}[\epsilon\mid x_t]\|^2"),
        premises=(r"x_t = \sqrt{\bar\alpha_t}x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon,\ "
                  r"\epsilon\sim\mathcal{N}(0, 1)\ \text{independent of}\ x_0", LAW_PREMISE),
        cites=(cite(HO, "Eq. 12"), cite(EFRON, "Eq. 2.8")),
        summary=("The noise predictor that minimises Ho et al.'s loss is E[ε|x_t] = "
                 "−√(1 − ᾱ_t) ∇ log q_t(x_t); any other pays its squared distance to it."),
        parts=(noise_part(noise_target), mse_part(), minimum_part(minimum), excess_part()),
        definitions={},
    )


register(NAME)(build)
