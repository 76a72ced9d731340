"""Classifier guidance and classifier-free guidance (Dhariwal & Nichol 2021, §4;
Ho & Salimans 2022, Eq. 6), and when the guided density exists.

* ``classifier-guidance``: Bayes' rule in logs for any densities, log p(x|y) = log p(y|x)
  + log p(x) − log p(y), so ∇ log p(x|y) = ∇ log p(x) + ∇ log p(y|x); its gradient form on
  a noisy class-conditional mixture (class k has prototype a_k, p(x_t|y=k) = N(√ᾱ_t a_k,
  1 − ᾱ_t), three classes); and the classifier-free combination γ ∇ log p(x|y) +
  (1 − γ) ∇ log p(x) = ∇ log p(x) + γ ∇ log p(y|x), the score of p̃ ∝ p(x) p(y|x)^γ.
* ``guided-density``: for p(x) = N(m, v) and a likelihood Gaussian in x, p(y|x) ∝
  exp(−(x − y)²/(2τ)), log p̃ is a quadratic with precision 1/v + γ/τ ≥ 1/v for every
  γ ≥ 0: p̃ is the Gaussian N(B/P, 1/P), with a finite normaliser √(2π/P) (checked by
  quadrature in the numeric twin); at γ = 1 it is the Bayes posterior.
* ``guidance-claims``: "p̃ is normalisable for every γ" is false: for γ < −τ/v the
  precision is negative and ∫ p(x) p(y|x)^γ dx diverges.
"""

from __future__ import annotations

import sympy as sp

from ...domains import REAL, VARIANCE, Domain
from ..engine import Derivation, Part, Premise, Relation, Step
from ..notation import sym, xt
from ..registry import register
from ._common import cite, coefficients, gaussian_logpdf
from ._law import LAW3 as L
from ._law import LAW_PREMISE, A, W, ab, kernel

DN, HS = "Dhariwal & Nichol 2021", "Ho & Salimans 2022"

y = sym("y_label", REAL, "y")
gamma = sym("gamma_cfg", REAL, r"\gamma")
p_x = sp.Function("p_x", positive=True)          # p(x)
p_y = sp.Function("p_y", positive=True)          # p(y)
p_cls = sp.Function("p_cls", positive=True)      # p(y|x), the classifier
p_cond = sp.Function("p_cond", positive=True)    # p(x|y)

BAYES = Premise("Bayes' rule", r"p(x \mid y) = p(y \mid x)\,p(x)/p(y)",
                {p_cond: sp.Lambda((xt, y), p_cls(y, xt) * p_x(xt) / p_y(y))},
                cite("standard", "Bayes' rule"))


def cond_score(a: sp.Expr) -> sp.Expr:
    return -(xt - sp.sqrt(ab) * a) / (1 - ab)


def bayes_part() -> Part:
    return Part(
        title="Bayes' rule in logs, any densities",
        lhs=r"\log p(x_t \mid y)",
        start=sp.log(p_cond(xt, y)),
        start_rule="the class-conditional density of x_t",
        cite=cite(DN, "§4.1"),
        steps=(
            Step(sp.log(p_cls(y, xt)) + sp.log(p_x(xt)) - sp.log(p_y(y)),
                 "Bayes' rule; the log of a product of positive densities",
                 cite("standard", "Bayes' rule")),
            Step(sp.log(p_cls(y, xt)) + sp.log(p_x(xt)),
                 "log p(y) does not depend on x_t: its gradient vanishes, so ∇ log p(x_t|y) "
                 "= ∇ log p(x_t) + ∇ log p(y|x_t)", cite(DN, "§4.2"),
                 relation=Relation.EQ_CONST, wrt=(xt,)),
        ),
    )


def classifier_score() -> sp.Expr:
    """∇ log p(y = 1 | x_t) = ∇ log (w_1 N_1 / q_t)."""
    return sp.diff(sp.log(W[1] * kernel(A[1]) / L.marginal()), xt)


def gradient_part(target=None) -> Part:
    target = L.score() + classifier_score() if target is None else target
    return Part(
        title="The gradients on a noisy class-conditional mixture",
        lhs=r"\nabla\log p(x_t \mid y = 1)",
        start=sp.diff(sp.log(kernel(A[1])), xt),
        start_rule=("classes k = 1, 2, 3 with priors ∝ w_k and p(x_t|y = k) = N(√ᾱ_t a_k, "
                    "1 − ᾱ_t); p(x_t) = Σ_k w_k N_k, p(y = 1|x_t) = w_1 N_1/p(x_t)"),
        cite=cite(DN, "§4.1"),
        steps=(
            Step(cond_score(A[1]), "the Gaussian's score: −(x_t − √ᾱ_t a_1)/(1 − ᾱ_t)",
                 cite("standard", "derivative of the Gaussian density")),
            Step(L.score() + (cond_score(A[1]) - L.score()),
                 "add and subtract ∇ log p(x_t)", cite("standard", "algebra")),
            Step(target, "∇ log p(y = 1|x_t) = ∇ log N_1 − ∇ log p(x_t) (w_1 is constant)",
                 cite(DN, "§4.2")),
        ),
    )


def free_part(target=None) -> Part:
    mixed = gamma * cond_score(A[1]) + (1 - gamma) * L.score()
    guided = L.marginal() * (W[1] * kernel(A[1]) / L.marginal()) ** gamma
    target = sp.diff(sp.log(guided), xt) if target is None else target
    return Part(
        title="Classifier-free guidance",
        lhs=r"\gamma\nabla\log p(x_t|y) + (1-\gamma)\nabla\log p(x_t)",
        start=mixed,
        start_rule="the classifier-free combination of a conditional and an unconditional score",
        cite=cite(HS, "Eq. 6"),
        steps=(
            Step(L.score() + gamma * (cond_score(A[1]) - L.score()),
                 "collect ∇ log p(x_t)", cite("standard", "algebra")),
            Step(L.score() + gamma * classifier_score(),
                 "the previous part: ∇ log p(x_t|y) − ∇ log p(x_t) = ∇ log p(y|x_t)",
                 cite(DN, "§4.2")),
            Step(target, "= ∇ log(p(x_t) p(y|x_t)^γ): the score of p̃ ∝ p(x_t) p(y|x_t)^γ "
                         "(a normaliser has no gradient)", cite(HS, "§3.2")),
        ),
    )


def build_guidance(gradient_target=None, free_target=None) -> Derivation:
    return Derivation(
        name="classifier-guidance",
        title="Classifier guidance and classifier-free guidance",
        statement=(r"\nabla\log p(x_t|y) = \nabla\log p(x_t) + \nabla\log p(y|x_t),\quad "
                   r"\gamma\nabla\log p(x_t|y) + (1-\gamma)\nabla\log p(x_t) = "
                   r"\nabla\log\big(p(x_t)\,p(y|x_t)^\gamma\big)"),
        premises=(LAW_PREMISE,),
        assumptions=(BAYES,),
        cites=(cite(DN, "§4.2"), cite(HS, "Eq. 6")),
        summary=("A classifier's gradient turns an unconditional score into a conditional "
                 "one; classifier-free guidance with weight γ is the score of "
                 "p(x_t) p(y|x_t)^γ."),
        parts=(bayes_part(), gradient_part(gradient_target), free_part(free_target)),
        definitions={},
    )


# -- the guided density of a Gaussian instance --------------------------------------------
WEIGHT = Domain("guidance_weight", 0.0, float("inf"), lo_open=False,
                description="a guidance weight γ ≥ 0")
m = sym("m_guid", REAL, "m")
yv = sym("y_guid", REAL, "y")
v = sym("v_guid", VARIANCE, "v")
tau = sym("tau_guid", VARIANCE, r"\tau")
g = sym("gamma_pos", WEIGHT, r"\gamma")
g_any = sym("gamma_any", REAL, r"\gamma")
x = sym("x_guid", REAL, "x")


def precision(weight: sp.Expr) -> sp.Expr:
    return 1 / v + weight / tau


def log_guided(weight: sp.Expr) -> sp.Expr:
    """log p(x) + γ log p(y|x) with p(x) = N(m, v), p(y|x) = N(y; x, τ)."""
    return gaussian_logpdf(x, m, v) + weight * gaussian_logpdf(yv, x, tau)


def quadratic_part(mean=None) -> Part:
    P, B = coefficients(log_guided(g), x)
    mean = B / P if mean is None else mean
    return Part(
        title="log p(x) + γ log p(y|x) is a quadratic in x",
        lhs=r"\log p(x) + \gamma\log p(y|x)",
        start=log_guided(g),
        start_rule="p(x) = N(m, v); a likelihood Gaussian in x, p(y|x) = N(y; x, τ)",
        cite=cite(HS, "§3.2"),
        steps=(
            Step(-precision(g) * x**2 / 2 + (m / v + g * yv / tau) * x,
                 "collect powers of x; the rest does not depend on x",
                 cite("standard", "completing the square"),
                 relation=Relation.EQ_CONST, wrt=(x,)),
            Step(-precision(g) * (x - mean) ** 2 / 2,
                 "complete the square: p̃ = N(B/P, 1/P), P = 1/v + γ/τ, B = m/v + γ y/τ, "
                 "whenever P > 0", cite("standard", "completing the square"),
                 relation=Relation.EQ_CONST, wrt=(x,)),
        ),
    )


def precision_part() -> Part:
    return Part(
        title="The precision is at least 1/v for every γ ≥ 0",
        lhs="P",
        start=precision(g),
        start_rule="the guided precision P = 1/v + γ/τ",
        cite=cite(HS, "§3.2"),
        steps=(
            Step((tau + g * v) / (v * tau), "over a common denominator",
                 cite("standard", "algebra")),
            Step(1 / v, "γ v/(v τ) = γ/τ ≥ 0 for γ ≥ 0: P ≥ 1/v > 0, so the quadratic's "
                        "Gaussian integral √(2π/P) is finite and p̃ is a density",
                 cite("standard", "algebra"), relation=Relation.GE, gap=g / tau),
        ),
    )


def posterior_part(target=None) -> Part:
    P, B = coefficients(log_guided(g), x)
    target = sp.Tuple((m * tau + yv * v) / (v + tau), v * tau / (v + tau)) if (
        target is None) else target
    return Part(
        title="γ = 1 is the Bayes posterior p(x|y)",
        lhs=r"(\text{mean}, \text{variance})\ \text{of}\ \tilde p\ \text{at}\ \gamma = 1",
        start=sp.Tuple(B / P, 1 / P).xreplace({g: 1}),
        start_rule="the guided law N(B/P, 1/P) of the first part at γ = 1",
        cite=cite(DN, "§4.1"),
        steps=(
            Step(sp.Tuple((m / v + yv / tau) / (1 / v + 1 / tau), 1 / (1 / v + 1 / tau)),
                 "P = 1/v + 1/τ, B = m/v + y/τ: precisions add",
                 cite("standard", "Gaussian conditioning")),
            Step(target, "the posterior of x ~ N(m, v) after observing y ~ N(x, τ)",
                 cite("standard", "Gaussian conditioning")),
        ),
    )


def build_density(mean=None, posterior=None) -> Derivation:
    return Derivation(
        name="guided-density",
        title="The guided density p(x) p(y|x)^γ of a Gaussian instance",
        statement=(r"p(x)\,p(y|x)^\gamma \propto \mathcal{N}\Big(\frac{m/v + \gamma y/\tau}"
                   r"{1/v + \gamma/\tau}, \frac{1}{1/v + \gamma/\tau}\Big)\ \text{for every}"
                   r"\ \gamma \ge 0"),
        premises=(r"p(x) = \mathcal{N}(m, v),\ p(y|x) = \mathcal{N}(y; x, \tau)",),
        cites=(cite(HS, "§3.2"),),
        summary=("Guidance with a likelihood Gaussian in x keeps a Gaussian for every γ ≥ 0: "
                 "the precision only grows."),
        parts=(quadratic_part(mean), precision_part(), posterior_part(posterior)),
        definitions={},
    )


def build_claims(weight: sp.Symbol = g_any) -> Derivation:
    P = 1 / v + weight / tau
    return Derivation(
        name="guidance-claims",
        title="Guidance claims: p(x) p(y|x)^γ is normalisable for every γ",
        statement=r"1/v + \gamma/\tau > 0\ \text{for every real}\ \gamma\ \text{(false)}",
        premises=(r"p(x) = \mathcal{N}(m, v),\ p(y|x) = \mathcal{N}(y; x, \tau)",),
        cites=(cite(HS, "§3.2"),),
        summary=("Negative guidance weights can destroy the density: at γ < −τ/v the "
                 "precision is negative and ∫ p(x) p(y|x)^γ dx = ∞."),
        parts=(Part(
            title="The precision for every real γ",
            lhs="P",
            start=P,
            start_rule="the guided precision, γ now any real number",
            cite=cite(HS, "§3.2"),
            steps=(
                Step((tau + weight * v) / (v * tau), "over a common denominator",
                     cite("standard", "algebra")),
                Step(sp.Abs((tau + weight * v) / (v * tau)),
                     "claimed: P ≥ 0 whatever the sign of γ, i.e. P = |P|",
                     cite(HS, "§3.2"), claimed_false=True),
            ),
        ),),
        definitions={},
        counterexample_note=("v = τ = 1, γ = −2: P = −1, and p(x) p(y|x)^γ ∝ "
                             "exp(x²/2 + ...) is not integrable."),
    )


register("classifier-guidance")(build_guidance)
register("guided-density")(build_density)
register("guidance-claims")(build_claims)
