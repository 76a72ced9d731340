"""The probability-flow ODE for Gaussian data (Song et al. 2021, Eq. 13).

Data x_0 ~ N(μ, s²) in one dimension under the VP SDE dx = −½β(t)x dt + √β(t) dw
with β(t) = 2c_0 + 4c_1 t (Song et al. 2021, Eq. 11): the marginal is p_t = N(m_t, V_t),
m_t = √ᾱ(t) μ, V_t = ᾱ(t)s² + 1 − ᾱ(t), ᾱ(t) = exp(−∫_0^t β).  The velocity of the
probability-flow ODE is v = f − ½g²∂_x log p_t.  The derivation checks, as PDEs in t
and x: the moment equations of the marginal; that p_t solves the SDE's Fokker–Planck
equation, which is the continuity equation ∂_t p_t + ∂_x(p_t v) = 0 of the ODE; that the
affine flow map solves the ODE and pushes N(μ, s²) to p_t; and that along the flow
log p_t changes at −∂_x v (``instantaneous-change-of-variables``, applied).
"""

from __future__ import annotations

import dataclasses

import sympy as sp

from ...domains import POSITIVE, REAL, UNIT_OPEN, VARIANCE
from ..certificates import Apply
from ..engine import Derivation, Part, Step
from ..expectation import GaussE
from ..notation import sym
from ..registry import register
from ._common import cite, gaussian_logpdf
from .likelihood import ICOV, j11, j12, j21, j22

NAME = "probability-flow-gaussian"
SONG = "Song et al. 2021"

tau = sym("t_pf", UNIT_OPEN, r"t")
x = sym("x_pf", REAL, r"x")
x_start = sym("x0_pf", REAL, r"x_0")
c0 = sym("c0_pf", POSITIVE, r"c_0")
c1 = sym("c1_pf", POSITIVE, r"c_1")
mu = sym("mu_data", REAL, r"\mu")
s2 = sym("s2_data", VARIANCE, r"s^2")

# β(t) = 2c_0 + 4c_1 t, linear as in the VP SDE; written with c_0, c_1 so that √ᾱ(t) is
# an exponential with integer coefficients (no half powers for the decision procedures)
BETA = 2 * c0 + 4 * c1 * tau
HALF_INT = c0 * tau + c1 * tau**2          # ½∫_0^t β
ALPHA_BAR = sp.exp(-2 * HALF_INT)          # ᾱ(t)
MEAN = mu * sp.exp(-HALF_INT)              # m_t = √ᾱ μ
VAR = ALPHA_BAR * s2 + 1 - ALPHA_BAR       # V_t
LOGP = gaussian_logpdf(x, MEAN, VAR)
P = sp.exp(-(x - MEAN) ** 2 / (2 * VAR)) / sp.sqrt(2 * sp.pi * VAR)
DRIFT = -BETA * x / 2                      # f(x, t) of the VP SDE
G2 = BETA                                  # g(t)²


HALF = sp.Rational(1, 2)


def velocity(score_factor: sp.Expr = HALF) -> sp.Expr:
    """v = f − ½ g² ∂_x log p_t (Eq. 13); ``score_factor`` plants slips in tests."""
    return DRIFT - score_factor * G2 * sp.diff(LOGP, x)


V_EXPLICIT = -BETA * x / 2 + BETA * (x - MEAN) / (2 * VAR)


def moments_part() -> Part:
    return Part(
        title="The moments of the marginal solve m′ = −βm/2, V′ = β(1 − V)",
        lhs=r"(m_t',\ V_t')",
        start=sp.Tuple(sp.diff(MEAN, tau), sp.diff(VAR, tau)),
        start_rule=("m_t = √ᾱ(t) μ and V_t = ᾱ(t)s² + 1 − ᾱ(t) with ᾱ(t) = exp(−∫_0^t β), "
                    "differentiated in t"),
        cite=cite(SONG, "App. B"),
        steps=(
            Step(sp.Tuple(-BETA * MEAN / 2, -BETA * ALPHA_BAR * (s2 - 1)),
                 "chain rule: ᾱ′ = −β ᾱ", cite("standard", "chain rule")),
            Step(sp.Tuple(-BETA * MEAN / 2, BETA * (1 - VAR)),
                 "−ᾱ(s² − 1) = 1 − V_t: the moment equations of the VP SDE",
                 cite(SONG, "App. B")),
        ),
    )


def velocity_part(target: sp.Expr | None = None) -> Part:
    target = BETA * ((1 / VAR - 1) * x - MEAN / VAR) / 2 if target is None else target
    return Part(
        title="The probability-flow velocity for Gaussian data",
        lhs=r"v(x, t) = f(x, t) - \tfrac12 g(t)^2\,\partial_x\log p_t(x)",
        start=velocity(),
        start_rule="Eq. 13 with the VP SDE's f = −½βx, g² = β, and p_t = N(m_t, V_t)",
        cite=cite(SONG, "Eq. 13"),
        steps=(
            Step(V_EXPLICIT, "the Gaussian score ∂_x log p_t = −(x − m_t)/V_t",
                 cite("standard", "score of a Gaussian")),
            Step(target, "collect in x: v is affine in x", cite(SONG, "Eq. 13")),
        ),
    )


def pde_part(v: sp.Expr | None = None) -> Part:
    v = V_EXPLICIT if v is None else v
    dm, dV = sp.diff(MEAN, tau), sp.diff(VAR, tau)
    bracket = ((dV - BETA * (1 - VAR)) * ((x - MEAN) ** 2 / VAR - 1) / (2 * VAR)
               + (dm + BETA * MEAN / 2) * (x - MEAN) / VAR)
    return Part(
        title="The marginal solves Fokker–Planck, i.e. the continuity equation with v",
        lhs=r"\partial_t p_t + \partial_x(f p_t) - \tfrac12 g^2\partial_x^2 p_t",
        start=sp.diff(P, tau) + sp.diff(DRIFT * P, x) - G2 * sp.diff(P, x, 2) / 2,
        start_rule="the Fokker–Planck residual of the VP SDE at its Gaussian marginal",
        cite=cite(SONG, "App. D.1"),
        steps=(
            Step(sp.diff(P, tau) + sp.diff(P * v, x),
                 "½g²∂_x²p = ∂_x(½g² p ∂_x log p): the diffusion term joins the drift as "
                 "−½g²∂_x log p, the probability-flow velocity", cite(SONG, "Eq. 13")),
            Step(P * bracket, "∂_t p = p ∂_t log p and ∂_x(pv) = p(v ∂_x log p + ∂_x v); "
                 "collect in powers of x − m_t", cite("standard", "product rule")),
            Step(sp.Integer(0), "both brackets vanish by the moment equations: "
                 "∂_t p_t = −∂_x(p_t v), so the ODE's solution has the marginals p_t",
                 cite(SONG, "App. D.1")),
        ),
    )


PHI = MEAN + (x_start - mu) * sp.sqrt(VAR) / sp.sqrt(s2)   # the flow map x_0 ↦ x_t


def flow_map_part() -> Part:
    v_at = V_EXPLICIT.xreplace({x: PHI})
    return Part(
        title="The affine flow map solves the ODE",
        lhs=r"\tfrac{d}{dt}\varphi_t(x_0),\ \varphi_t(x_0) = m_t + (x_0-\mu)\sqrt{V_t}/s",
        start=sp.diff(PHI, tau),
        start_rule="the candidate flow φ_t(x_0) = m_t + (x_0 − μ)√(V_t)/s, differentiated",
        cite=cite(SONG, "Eq. 13"),
        steps=(
            Step(sp.diff(MEAN, tau) + (x_start - mu) * sp.diff(VAR, tau)
                 / (2 * sp.sqrt(VAR) * sp.sqrt(s2)),
                 "chain rule: (√V)′ = V′/(2√V)", cite("standard", "chain rule")),
            Step(-BETA * MEAN / 2 + (x_start - mu) * BETA * (1 - VAR)
                 / (2 * sp.sqrt(VAR) * sp.sqrt(s2)),
                 "the moment equations", cite(SONG, "App. B")),
            Step(v_at, "= v(φ_t, t): φ solves dx/dt = v(x, t) from φ_0 = x_0",
                 cite(SONG, "Eq. 13")),
        ),
    )


def pushforward_part(var_target: sp.Expr | None = None) -> Part:
    law = (x_start, mu, s2)
    var_target = VAR if var_target is None else var_target
    return Part(
        title="The flow pushes N(μ, s²) to the marginal p_t",
        lhs=r"(\mathbb{E}[\varphi_t(x_0)],\ \mathrm{Var}[\varphi_t(x_0)])",
        start=sp.Tuple(GaussE(PHI, *law), GaussE((PHI - MEAN) ** 2, *law)),
        start_rule="x_0 ~ N(μ, s²) carried by the affine flow map",
        cite=cite(SONG, "§4.3"),
        steps=(
            Step(sp.Tuple(MEAN, VAR * GaussE((x_start - mu) ** 2, *law) / s2),
                 "E[x_0 − μ] = 0; the variance scales by V_t/s²",
                 cite("standard", "moments of a Gaussian")),
            Step(sp.Tuple(MEAN, var_target), "E[(x_0 − μ)²] = s²: the law of x_t is "
                 "N(m_t, V_t) = p_t, an affine image of a Gaussian",
                 cite(SONG, "§4.3")),
        ),
    )


def icov_part(rate: sp.Expr | None = None) -> Part:
    dv = sp.diff(V_EXPLICIT, x)
    rate = BETA * (1 - 1 / VAR) / 2 if rate is None else rate
    return Part(
        title="Along the flow log p_t changes at −∂_x v",
        lhs=r"\partial_t\log p_t + v\,\partial_x\log p_t",
        start=sp.diff(LOGP, tau) + V_EXPLICIT * sp.diff(LOGP, x),
        start_rule="d/dt log p_t(x_t) along dx/dt = v, by the chain rule",
        cite=cite("Chen et al. 2018", "Theorem 1"),
        steps=(
            Step(-dv, "the instantaneous change of variables in one dimension, J = ∂_x v "
                 "(equivalently: the continuity equation divided by p_t)",
                 cite("Chen et al. 2018", "Theorem 1"),
                 certificate=Apply(ICOV, 0, {j11: dv, j12: 0, j21: 0, j22: 0})),
            Step(rate, "∂_x v = −½β(1 − 1/V_t)", cite(SONG, "Eq. 13")),
        ),
    )


def _canonical_exponents(e: sp.Basic) -> sp.Basic:
    """Every exp(u) with u expanded: differentiation leaves one exponent factored and
    another expanded, which the decision procedures would take for two generators."""
    if not isinstance(e, sp.Basic):
        return e
    for _ in range(3):  # nested exponentials: inner ones first
        e = e.replace(lambda a: isinstance(a, sp.exp), lambda a: sp.exp(sp.expand(a.args[0])))
    return e


def _canonical(part: Part) -> Part:
    steps = tuple(dataclasses.replace(s, expr=_canonical_exponents(s.expr)) for s in part.steps)
    return dataclasses.replace(part, start=_canonical_exponents(part.start), steps=steps)


def build(velocity_target: sp.Expr | None = None, pde_velocity: sp.Expr | None = None,
          pushforward_var: sp.Expr | None = None, icov_rate: sp.Expr | None = None
          ) -> Derivation:
    return Derivation(
        name=NAME,
        title="The probability-flow ODE has the forward process's marginals (Gaussian data)",
        statement=(r"\frac{dx}{dt} = f(x,t) - \tfrac12 g(t)^2\nabla_x\log p_t(x)"
                   r"\ \Longrightarrow\ \partial_t p_t = -\partial_x\big(p_t\,v\big),\quad "
                   r"x_0\sim\mathcal{N}(\mu,s^2) \Rightarrow x_t\sim p_t = \mathcal{N}"
                   r"(\sqrt{\bar\alpha(t)}\mu,\ \bar\alpha(t)s^2 + 1 - \bar\alpha(t))"),
        premises=(r"dx = -\tfrac12\beta(t)x\,dt + \sqrt{\beta(t)}\,dw,\ \beta(t) = "
                  r"2c_0 + 4c_1 t,\ c_0, c_1 > 0",
                  r"x_0 \sim \mathcal{N}(\mu, s^2)"),
        cites=(cite(SONG, "Eq. 13, App. D.1"), cite("Chen et al. 2018", "Theorem 1")),
        summary=("For Gaussian data every object is explicit: the velocity is affine in x, "
                 "the marginal solves the continuity equation with it, and the flow map "
                 "carries the data law onto each marginal."),
        parts=tuple(_canonical(p) for p in (
            moments_part(), velocity_part(velocity_target), pde_part(pde_velocity),
            flow_map_part(), pushforward_part(pushforward_var), icov_part(icov_rate))),
        definitions={},
    )


register(NAME)(build)
