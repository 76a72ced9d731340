"""Denoising score matching equals explicit score matching up to a constant (Vincent 2011,
§4.2 and Appendix; Hyvärinen 2005, Theorem 1), and the ε-loss is denoising score matching.

* Vincent: E_{q(x_0, x_t)}(s_θ(x_t) − ∇ log q(x_t|x_0))² = E_{q_t}(s_θ(x_t) − ∇ log q_t(x_t))²
  + C, C free of θ: given x_t, expand the square; the cross term averages ∇ log q(x_t|x_0)
  over the posterior, which is ∇ log q_t(x_t) (tweedie-any-law); complete the square.
  Checked at each x_t for a law with three symbolic atoms (``_law``); s is the model's
  value there, so "constant" is "its derivative in s vanishes".
* Hyvärinen: E_q(s_θ − ∇ log q)² = E_q(s_θ² + 2 s_θ') + C by integration by parts
  (E_q[s ∇ log q] = ∫ s q' = −E_q[s']); checked for q = N(m, v) and a quadratic model,
  where every expectation is a Gaussian moment.
* With s_θ = −ε_θ/√(1 − ᾱ_t) and ∇ log q(x_t|x_0) = −ε/√(1 − ᾱ_t), the squared error of
  the score is (ε_θ − ε)²/(1 − ᾱ_t): Ho et al.'s ε-loss is denoising score matching
  weighted by 1 − ᾱ_t.
"""

from __future__ import annotations

import sympy as sp

from ...domains import REAL, VARIANCE
from ..engine import Derivation, Part, Relation, Step
from ..expectation import GaussE
from ..notation import eps, eps_theta, sym, x0, xt
from ..registry import register
from ._common import HO, cite
from ._law import LAW3 as L
from ._law import LAW_PREMISE, A, W, ab, k, kernel

NAME = "denoising-score-matching"
VINCENT, HYVARINEN = "Vincent 2011", "Hyvärinen 2005"

s_val = sym("s_value", REAL, r"s_\theta(x_t)")
m = sym("m_esm", REAL, "m")
v = sym("v_esm", VARIANCE, "v")
P = [sym(f"p{j}_esm", REAL, f"p_{j}") for j in range(3)]
y = sym("y_esm", REAL, "x")


def cond_score(a: sp.Expr) -> sp.Expr:
    """∇_{x_t} log q(x_t | x_0 = a) = −(x_t − √ᾱ a)/(1 − ᾱ)."""
    return -(xt - sp.sqrt(ab) * a) / (1 - ab)


def vincent_part(constant=None) -> Part:
    c1 = L.posterior_mean(cond_score)
    c2 = L.posterior_mean(lambda a: cond_score(a) ** 2)
    end = (s_val - L.score()) ** 2 if constant is None else constant
    return Part(
        title="Denoising score matching at each x_t, a law with three atoms",
        lhs=r"\mathbb{E}[(s_\theta(x_t) - \nabla\log q(x_t|x_0))^2\mid x_t]",
        start=L.posterior_mean(lambda a: (s_val - cond_score(a)) ** 2),
        start_rule=("the DSM integrand averaged over the posterior of x_0 given x_t (the "
                    "outer average over q_t is the same on both sides)"),
        cite=cite(VINCENT, "the objectives J_ESM and J_DSM"),
        steps=(
            Step(s_val**2 - 2 * s_val * c1 + c2,
                 "expand the square; linearity: s² − 2 s E[∇ log q(x_t|x_0)|x_t] + "
                 "E[(∇ log q(x_t|x_0))²|x_t]", cite("standard", "linearity of the sum")),
            Step(s_val**2 - 2 * s_val * L.S(W[k] * sp.diff(kernel(A[k]), xt)) / L.S(
                W[k] * kernel(A[k])) + c2,
                 "E[∇ log q(x_t|x_0)|x_t] = Σ_k π_k ∇N_k/N_k = ∇q_t/q_t: the posterior average "
                 "of the conditional score is the marginal score (tweedie-any-law)",
                 cite(VINCENT, "Appendix, proof that J_ESM and J_DSM are equivalent")),
            Step((s_val - L.score()) ** 2 + c2 - L.score() ** 2, "complete the square in s",
                 cite("standard", "completing the square")),
            Step(end, "E[(∇ log q(x_t|x_0))²|x_t] − (∇ log q_t)² does not depend on the model",
                 cite(VINCENT, "the objectives J_ESM and J_DSM"), relation=Relation.EQ_CONST,
                 wrt=(s_val,)),
        ),
    )


def hyvarinen_part(constant=None) -> Part:
    model = P[0] + P[1] * y + P[2] * y**2
    psi = -(y - m) / v                                  # ∇ log N(y; m, v)
    gauss = lambda f: GaussE(f, y, m, v)  # noqa: E731
    end = (gauss(model**2) + 2 * gauss(sp.diff(model, y)) if constant is None
           else constant)
    return Part(
        title="Explicit score matching by parts (Gaussian data, quadratic model)",
        lhs=r"\mathbb{E}_q(s_\theta - \nabla\log q)^2",
        start=gauss((model - psi) ** 2),
        start_rule=("q = N(m, v), ∇ log q(x) = −(x − m)/v; a model s_θ(x) = p_0 + p_1 x + "
                    "p_2 x²"),
        cite=cite(HYVARINEN, "Eq. 2"),
        steps=(
            Step(gauss(model**2) - 2 * gauss(model * psi) + gauss(psi**2),
                 "expand the square", cite("standard", "linearity of expectation")),
            Step(gauss(model**2) + 2 * gauss(sp.diff(model, y)) + gauss(psi**2),
                 "integration by parts: E_q[s ∇ log q] = ∫ s q' dx = −E_q[s'] (the boundary "
                 "terms vanish: s q → 0)", cite(HYVARINEN, "Theorem 1")),
            Step(end, "E_q(∇ log q)² does not depend on θ: Hyvärinen's objective "
                      "E_q[s_θ² + 2 s_θ']", cite(HYVARINEN, "Theorem 1"),
                 relation=Relation.EQ_CONST, wrt=tuple(P)),
        ),
    )


def eps_part() -> Part:
    x_t = sp.sqrt(ab) * x0 + sp.sqrt(1 - ab) * eps
    return Part(
        title="The ε-loss is denoising score matching",
        lhs=r"(1-\bar\alpha_t)\,(s_\theta - \nabla\log q(x_t|x_0))^2",
        start=(1 - ab) * (-eps_theta / sp.sqrt(1 - ab) - cond_score(x0).xreplace({xt: x_t})) ** 2,
        start_rule=("a score model written through a noise predictor, s_θ = −ε_θ/√(1 − ᾱ_t), "
                    "at x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε"),
        cite=cite(HO, "Eq. 12"),
        steps=(
            Step((1 - ab) * (-eps_theta / sp.sqrt(1 - ab) + eps / sp.sqrt(1 - ab)) ** 2,
                 "∇ log q(x_t|x_0) = −(x_t − √ᾱ_t x_0)/(1 − ᾱ_t) = −ε/√(1 − ᾱ_t)",
                 cite("standard", "the score–ε equivalence")),
            Step((eps - eps_theta) ** 2, "(1 − ᾱ_t) cancels: Ho et al.'s ε-loss",
                 cite(HO, "Eq. 14")),
        ),
    )


def build(vincent_end=None, hyvarinen_end=None) -> Derivation:
    return Derivation(
        name=NAME,
        title="Denoising score matching equals explicit score matching up to a constant",
        statement=(r"\mathbb{E}_{q(x_0,x_t)}\|s_\theta(x_t) - \nabla\log q(x_t|x_0)\|^2 = "
                   r"\mathbb{E}_{q_t}\|s_\theta(x_t) - \nabla\log q_t(x_t)\|^2 + C,\quad "
                   r"C\ \text{free of}\ \theta"),
        premises=(r"q(x_t|x_0) = \mathcal{N}(\sqrt{\bar\alpha_t}x_0, 1-\bar\alpha_t)",
                  LAW_PREMISE, r"s_\theta\,q \to 0\ \text{at}\ \pm\infty"),
        cites=(cite(VINCENT, "the objectives J_ESM and J_DSM"), cite(HYVARINEN, "Theorem 1")),
        summary=("Regressing a model on the conditional score ∇ log q(x_t|x_0) trains it on "
                 "the marginal score ∇ log q_t: the two losses differ by a constant."),
        parts=(vincent_part(vincent_end), hyvarinen_part(hyvarinen_end), eps_part()),
        definitions={},
    )


register(NAME)(build)
