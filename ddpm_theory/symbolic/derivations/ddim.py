"""DDIM: the non-Markovian family with DDPM's marginals (Song, Meng & Ermon 2021).

``ddim-marginals``
    q_σ(x_{t−1}|x_t, x_0) = N(√ᾱ_{t−1} x_0 + √(1 − ᾱ_{t−1} − σ_t²)(x_t − √ᾱ_t x_0)/
    √(1 − ᾱ_t), σ_t²) (Eq. 7) keeps q_σ(x_{t−1}|x_0) = N(√ᾱ_{t−1} x_0, 1 − ᾱ_{t−1})
    for every σ_t (Lemma 1): by the characteristic function, applying the linear-Gaussian
    lemma (``linear-gaussian-step``, the lemma part of ``forward-marginal``), and again by
    Gaussian moments.
``ddim-sampler``
    σ_t² = β̃_t is a member of the family and gives DDPM's posterior (Ho et al. 2020,
    Eq. 7) and DDPM's sampling step (Eq. 11); with x_0 replaced by x̂_0 the mean is
    Eq. 12, and σ_t = 0 gives the deterministic update and its ODE form (Eq. 13).

Every σ_t² ∈ (0, 1 − ᾱ_{t−1}) is written σ_t² = ρ_t (1 − ᾱ_{t−1}) with ρ_t ∈ (0, 1), so
that the square root of Eq. 7 is real on the declared domain.
"""

from __future__ import annotations

import sympy as sp

from ...domains import UNIT_OPEN
from ..certificates import Apply
from ..engine import Derivation, Part, Step
from ..expectation import GaussE
from ..notation import (
    DEFINITIONS,
    alpha,
    alpha_bar,
    alpha_bar_prev,
    beta,
    eps,
    eps_theta,
    sym,
    x0,
    x0_hat,
    xt,
)
from ..registry import register
from ._common import HO, cite, gaussian_log_cf
from .forward import LEMMA_NAME
from .forward import a as lin_a
from .forward import b as lin_b
from .forward import m as lin_m
from .forward import s as s_cf
from .forward import v as lin_v

MARGINALS, SAMPLER = "ddim-marginals", "ddim-sampler"
DDIM = "Song, Meng & Ermon 2021"
LINEAR_LEMMA = (LEMMA_NAME, "Lemma: a linear Gaussian step")

rho = sym("rho_ddim", UNIT_OPEN, r"\rho_t")
#: σ_t² of the family, ρ_t ∈ (0, 1) of the admissible range (0, 1 − ᾱ_{t−1})
SIGMA2 = rho * (1 - alpha_bar_prev)


def coef_xt(sigma2: sp.Expr = SIGMA2) -> sp.Expr:
    """√(1 − ᾱ_{t−1} − σ_t²)/√(1 − ᾱ_t): the x_t coefficient of Eq. 7."""
    return sp.sqrt(1 - alpha_bar_prev - sigma2) / sp.sqrt(1 - alpha_bar)


def coef_xt_rho() -> sp.Expr:
    """The same with σ_t² = ρ_t(1 − ᾱ_{t−1}) factored: √((1 − ρ)(1 − ᾱ_{t−1}))/√(1 − ᾱ_t)."""
    return sp.sqrt((1 - rho) * (1 - alpha_bar_prev)) / sp.sqrt(1 - alpha_bar)


def ddim_sample(x_0: sp.Expr, sigma2: sp.Expr = SIGMA2) -> sp.Expr:
    """x_{t−1} drawn from Eq. 7, reparameterised with ε ~ N(0, 1)."""
    return (sp.sqrt(alpha_bar_prev) * x_0 + coef_xt(sigma2) * (xt - sp.sqrt(alpha_bar) * x_0)
            + sp.sqrt(sigma2) * eps)


# -- ddim-marginals -----------------------------------------------------------------------
def cf_part(var_target: sp.Expr | None = None) -> Part:
    c, sig = coef_xt_rho(), sp.sqrt(SIGMA2)
    shift = sp.I * s_cf * (sp.sqrt(alpha_bar_prev) - c * sp.sqrt(alpha_bar)) * x0
    var_t = 1 - alpha_bar_prev if var_target is None else var_target
    mapping = {lin_m: sp.sqrt(alpha_bar) * x0, lin_v: 1 - alpha_bar, lin_a: c, lin_b: sig}
    return Part(
        title="Lemma 1 by the characteristic function",
        lhs=r"\log\varphi_{x_{t-1}\mid x_0}(s)",
        start=shift + gaussian_log_cf(sp.sqrt(alpha_bar) * x0, 1 - alpha_bar, c * s_cf)
        + gaussian_log_cf(0, 1, sig * s_cf),
        start_rule=("x_{t−1} = √ᾱ_{t−1}x_0 + c(x_t − √ᾱ_t x_0) + σ_t ε (Eq. 7 "
                    "reparameterised) with x_t ~ N(√ᾱ_t x_0, 1 − ᾱ_t) (the induction "
                    "hypothesis; base t = T by Eq. 6) and ε ⫫ x_t: log φ = i s·(constant "
                    "shift) + log φ_{x_t}(c s) + log φ_ε(σ_t s)"),
        cite=cite(DDIM, "Lemma 1"),
        steps=(
            Step(shift + gaussian_log_cf(c * sp.sqrt(alpha_bar) * x0,
                                         c**2 * (1 - alpha_bar) + SIGMA2, s_cf),
                 "the linear-Gaussian lemma with a = c, b = σ_t, m = √ᾱ_t x_0, "
                 "v = 1 − ᾱ_t", cite("standard", "linear map of a Gaussian"),
                 certificate=Apply(*LINEAR_LEMMA, mapping)),
            Step(gaussian_log_cf(sp.sqrt(alpha_bar_prev) * x0,
                                 c**2 * (1 - alpha_bar) + SIGMA2, s_cf),
                 "the shift adds to the mean: c√ᾱ_t x_0 cancels", cite(DDIM, "Eq. 7")),
            Step(gaussian_log_cf(sp.sqrt(alpha_bar_prev) * x0,
                                 (1 - rho) * (1 - alpha_bar_prev) + SIGMA2, s_cf),
                 "c²(1 − ᾱ_t) = 1 − ᾱ_{t−1} − σ_t² = (1 − ρ_t)(1 − ᾱ_{t−1})",
                 cite(DDIM, "Eq. 7")),
            Step(gaussian_log_cf(sp.sqrt(alpha_bar_prev) * x0, var_t, s_cf),
                 "the variances add up to 1 − ᾱ_{t−1} whatever σ_t: q_σ(x_{t−1}|x_0) = "
                 "N(√ᾱ_{t−1}x_0, 1 − ᾱ_{t−1}), DDPM's marginal",
                 cite(DDIM, "Lemma 1, App. B")),
        ),
    )


def moments_part(var_target: sp.Expr | None = None) -> Part:
    x_prev = ddim_sample(x0)
    law = (xt, sp.sqrt(alpha_bar) * x0, 1 - alpha_bar)
    c2 = coef_xt() ** 2
    var_t = 1 - alpha_bar_prev if var_target is None else var_target
    return Part(
        title="The same by moments: mean and variance of x_{t−1} given x_0",
        lhs=r"(\mathbb{E}[x_{t-1}\mid x_0],\ \mathrm{Var}[x_{t-1}\mid x_0])",
        start=sp.Tuple(GaussE(GaussE(x_prev, eps, 0, 1), *law),
                       GaussE(GaussE((x_prev - sp.sqrt(alpha_bar_prev) * x0) ** 2, eps, 0, 1),
                              *law)),
        start_rule=("the tower rule: first over ε ~ N(0, 1) given x_t (Eq. 7), then over "
                    "x_t ~ q(x_t|x_0) = N(√ᾱ_t x_0, 1 − ᾱ_t)"),
        cite=cite(DDIM, "Eq. 7"),
        steps=(
            Step(sp.Tuple(GaussE(sp.sqrt(alpha_bar_prev) * x0
                                 + coef_xt() * (xt - sp.sqrt(alpha_bar) * x0), *law),
                          GaussE(c2 * (xt - sp.sqrt(alpha_bar) * x0) ** 2 + SIGMA2, *law)),
                 "inner expectation: E[ε] = 0, E[ε²] = 1, the cross term vanishes",
                 cite("standard", "moments of a Gaussian")),
            Step(sp.Tuple(sp.sqrt(alpha_bar_prev) * x0, c2 * (1 - alpha_bar) + SIGMA2),
                 "outer expectation: E[x_t − √ᾱ_t x_0] = 0, E[(x_t − √ᾱ_t x_0)²] = 1 − ᾱ_t",
                 cite(HO, "Eq. 4")),
            Step(sp.Tuple(sp.sqrt(alpha_bar_prev) * x0, var_t),
                 "c²(1 − ᾱ_t) + σ_t² = 1 − ᾱ_{t−1}", cite(DDIM, "Lemma 1")),
        ),
    )


def build_marginals(var_target: sp.Expr | None = None) -> Derivation:
    return Derivation(
        name=MARGINALS,
        title="DDIM: every member of the non-Markovian family has DDPM's marginals",
        statement=(r"q_\sigma(x_{t-1}\mid x_t,x_0) = \mathcal{N}\Big(\sqrt{\bar\alpha_{t-1}}x_0"
                   r" + \sqrt{1-\bar\alpha_{t-1}-\sigma_t^2}\,\frac{x_t-\sqrt{\bar\alpha_t}x_0}"
                   r"{\sqrt{1-\bar\alpha_t}},\ \sigma_t^2\Big)\ \Longrightarrow\ "
                   r"q_\sigma(x_{t-1}\mid x_0) = \mathcal{N}(\sqrt{\bar\alpha_{t-1}}x_0,\ "
                   r"1-\bar\alpha_{t-1})"),
        premises=(r"q_\sigma(x_t\mid x_0) = \mathcal{N}(\sqrt{\bar\alpha_t}x_0, 1-\bar\alpha_t)"
                  r"\ \text{(induction from } t = T\text{)}",
                  r"0 < \sigma_t^2 = \rho_t(1-\bar\alpha_{t-1}) < 1-\bar\alpha_{t-1}"),
        cites=(cite(DDIM, "Eqs. 6–7, Lemma 1"),),
        summary=("The variances c²(1 − ᾱ_t) and σ_t² trade off exactly, so the marginals "
                 "— and hence the training objective's terms — do not depend on σ."),
        parts=(cf_part(var_target), moments_part(var_target)),
        definitions={},
        domains={alpha_bar: UNIT_OPEN},
    )


# -- ddim-sampler -------------------------------------------------------------------------
BETA_TILDE = (1 - alpha_bar_prev) / (1 - alpha_bar) * beta
#: x̂_0 from the ε-prediction (Ho et al. 2020, Eq. 4 solved for x_0; DDIM Eq. 9)
X0_HAT = (xt - sp.sqrt(1 - alpha_bar) * eps_theta) / sp.sqrt(alpha_bar)
ROOT_TILDE = sp.sqrt(alpha) * (1 - alpha_bar_prev) / sp.sqrt(1 - alpha_bar)


def member_part() -> Part:
    return Part(
        title="σ_t² = β̃_t is a member of the family",
        lhs=r"1 - \bar\alpha_{t-1} - \tilde\beta_t",
        start=1 - alpha_bar_prev - BETA_TILDE,
        start_rule="the radicand of Eq. 7 at σ_t² = β̃_t = (1 − ᾱ_{t−1})β_t/(1 − ᾱ_t)",
        cite=cite(DDIM, "§4.1"),
        steps=(
            Step((1 - alpha_bar_prev) * (1 - beta / (1 - alpha_bar)),
                 "factor out 1 − ᾱ_{t−1}", cite(HO, "Eq. 7")),
            Step((1 - alpha_bar_prev) * (alpha - alpha_bar) / (1 - alpha_bar),
                 "1 − ᾱ_t − β_t = α_t − ᾱ_t", cite(HO, "§2")),
            Step(alpha * (1 - alpha_bar_prev) ** 2 / (1 - alpha_bar),
                 "α_t − ᾱ_t = α_t(1 − ᾱ_{t−1}) > 0: the root is real, ρ_t = β_t/(1 − ᾱ_t) "
                 "lies in (0, 1)", cite(HO, "Eq. 4")),
        ),
    )


def posterior_part(target: sp.Expr | None = None) -> Part:
    from .. import registry

    post = registry.get("bayes-posterior").exports
    target = sp.Tuple(post["posterior_mean_coef_x0"], post["posterior_mean_coef_xt"],
                      post["posterior_variance"]) if target is None else target
    root = sp.sqrt(1 - alpha_bar_prev - BETA_TILDE)
    den = sp.sqrt(1 - alpha_bar)
    return Part(
        title="σ_t² = β̃_t recovers the DDPM posterior",
        lhs=r"(\text{coefficient of } x_0,\ \text{of } x_t,\ \text{variance})",
        start=sp.Tuple(sp.sqrt(alpha_bar_prev) - root * sp.sqrt(alpha_bar) / den, root / den,
                       BETA_TILDE),
        start_rule="Eq. 7 at σ_t² = β̃_t, read off as a linear function of x_0 and x_t",
        cite=cite(DDIM, "§4.1"),
        steps=(
            Step(sp.Tuple(sp.sqrt(alpha_bar_prev) - ROOT_TILDE * sp.sqrt(alpha_bar) / den,
                          ROOT_TILDE / den, BETA_TILDE),
                 "the root of the previous part: √(α_t(1 − ᾱ_{t−1})²/(1 − ᾱ_t))",
                 cite(DDIM, "Eq. 7")),
            Step(sp.Tuple(sp.sqrt(alpha_bar_prev) * (1 - alpha_bar - alpha * (1 - alpha_bar_prev))
                          / (1 - alpha_bar),
                          sp.sqrt(alpha) * (1 - alpha_bar_prev) / (1 - alpha_bar), BETA_TILDE),
                 "√α_t √ᾱ_t = α_t √ᾱ_{t−1}; common denominator 1 − ᾱ_t", cite(HO, "§2")),
            Step(target, "1 − ᾱ_t − α_t + ᾱ_t = β_t: the mean μ̃_t and variance β̃_t of the "
                         "Bayes posterior (bayes-posterior's exports)", cite(HO, "Eq. 7")),
        ),
    )


def eq12_part() -> Part:
    c = coef_xt_rho()
    return Part(
        title="With x_0 → x̂_0 the mean of Eq. 7 is the sampler of Eq. 12",
        lhs=r"\sqrt{\bar\alpha_{t-1}}\hat x_0 + c\,(x_t - \sqrt{\bar\alpha_t}\hat x_0)",
        start=sp.sqrt(alpha_bar_prev) * x0_hat + c * (xt - sp.sqrt(alpha_bar) * x0_hat),
        start_rule=("the mean of q_σ(x_{t−1}|x_t, x_0) at x_0 = x̂_0 = (x_t − √(1 − ᾱ_t)ε̂)"
                    "/√ᾱ_t, the model's prediction (Eq. 9)"),
        cite=cite(DDIM, "Eq. 10"),
        steps=(
            Step(sp.sqrt(alpha_bar_prev) * x0_hat + c * sp.sqrt(1 - alpha_bar) * eps_theta,
                 "x_t − √ᾱ_t x̂_0 = √(1 − ᾱ_t) ε̂", cite(HO, "Eq. 4")),
            Step(sp.sqrt(alpha_bar_prev) * x0_hat
                 + sp.sqrt(1 - alpha_bar_prev - SIGMA2) * eps_theta,
                 "c √(1 − ᾱ_t) = √(1 − ᾱ_{t−1} − σ_t²): \"predicted x_0\" plus \"direction "
                 "pointing to x_t\"", cite(DDIM, "Eq. 12")),
        ),
    )


def ddpm_step_part(target: sp.Expr | None = None) -> Part:
    target = (xt - beta / sp.sqrt(1 - alpha_bar) * eps_theta) / sp.sqrt(alpha) if (
        target is None) else target
    return Part(
        title="σ_t² = β̃_t: Eq. 12 is DDPM's sampling step",
        lhs=r"\sqrt{\bar\alpha_{t-1}}\hat x_0 + \sqrt{1-\bar\alpha_{t-1}-\tilde\beta_t}\,"
            r"\hat\epsilon",
        start=sp.sqrt(alpha_bar_prev) * x0_hat
        + sp.sqrt(1 - alpha_bar_prev - BETA_TILDE) * eps_theta,
        start_rule="the mean of Eq. 12 at σ_t² = β̃_t",
        cite=cite(DDIM, "§4.1"),
        steps=(
            Step(sp.sqrt(alpha_bar_prev) * x0_hat + ROOT_TILDE * eps_theta,
                 "the root from the member part", cite(DDIM, "Eq. 12")),
            Step((xt - sp.sqrt(1 - alpha_bar) * eps_theta) / sp.sqrt(alpha)
                 + ROOT_TILDE * eps_theta,
                 "√ᾱ_{t−1} x̂_0 = (x_t − √(1 − ᾱ_t)ε̂)/√α_t", cite(HO, "Eq. 4")),
            Step(target, "ε̂ coefficient: (α_t(1 − ᾱ_{t−1}) − (1 − ᾱ_t))/(√α_t√(1 − ᾱ_t)) = "
                         "−β_t/(√α_t√(1 − ᾱ_t))", cite(HO, "Eq. 11")),
        ),
    )


def deterministic_part(target: sp.Expr | None = None) -> Part:
    def ratio(ab: sp.Expr) -> sp.Expr:
        return sp.sqrt((1 - ab) / ab)

    target = xt / sp.sqrt(alpha_bar) + (ratio(alpha_bar_prev) - ratio(alpha_bar)) * eps_theta \
        if target is None else target
    mean0 = sp.sqrt(alpha_bar_prev) * x0_hat + sp.sqrt(1 - alpha_bar_prev) * (
        xt - sp.sqrt(alpha_bar) * x0_hat) / sp.sqrt(1 - alpha_bar)
    return Part(
        title="σ_t = 0: the deterministic update and its ODE form",
        lhs=r"x_{t-1}/\sqrt{\bar\alpha_{t-1}}",
        start=mean0 / sp.sqrt(alpha_bar_prev),
        start_rule=("Eq. 7 with σ_t = 0 (ρ_t → 0): x_{t−1} is its mean, with x_0 = x̂_0; "
                    "divided by √ᾱ_{t−1}"),
        cite=cite(DDIM, "§4.1"),
        steps=(
            Step((sp.sqrt(alpha_bar_prev) * x0_hat + sp.sqrt(1 - alpha_bar_prev) * eps_theta)
                 / sp.sqrt(alpha_bar_prev),
                 "x_t − √ᾱ_t x̂_0 = √(1 − ᾱ_t)ε̂: x_{t−1} = √ᾱ_{t−1}x̂_0 + √(1 − ᾱ_{t−1})ε̂",
                 cite(DDIM, "Eq. 12")),
            Step(x0_hat + ratio(alpha_bar_prev) * eps_theta, "divide out √ᾱ_{t−1}",
                 cite("standard", "algebra")),
            Step(target, "x̂_0 = x_t/√ᾱ_t − √((1 − ᾱ_t)/ᾱ_t) ε̂: an Euler step in "
                         "√((1 − ᾱ)/ᾱ) of the probability-flow ODE", cite(DDIM, "Eq. 13")),
        ),
    )


def build_sampler(posterior_target: sp.Expr | None = None,
                  ddpm_target: sp.Expr | None = None,
                  deterministic_target: sp.Expr | None = None) -> Derivation:
    return Derivation(
        name=SAMPLER,
        title="DDIM's sampler: σ_t² = β̃_t is DDPM, σ_t = 0 is deterministic",
        statement=(r"x_{t-1} = \sqrt{\bar\alpha_{t-1}}\,\hat x_0 + \sqrt{1-\bar\alpha_{t-1}-"
                   r"\sigma_t^2}\,\hat\epsilon + \sigma_t\epsilon;\quad \sigma_t^2 = \tilde"
                   r"\beta_t:\ q_\sigma = q(x_{t-1}\mid x_t,x_0);\quad \sigma_t = 0:\ "
                   r"x_{t-1} = \sqrt{\bar\alpha_{t-1}}\hat x_0 + \sqrt{1-\bar\alpha_{t-1}}"
                   r"\hat\epsilon"),
        premises=(r"\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\hat\epsilon)/\sqrt{\bar\alpha_t}",
                  r"\bar\alpha_t = \bar\alpha_{t-1}\alpha_t"),
        cites=(cite(DDIM, "Eqs. 7, 12, 13, §4.1"), cite(HO, "Eqs. 7, 11")),
        summary=("One family, one sampler: at σ_t² = β̃_t it is DDPM's posterior and "
                 "sampling step, at σ_t = 0 a deterministic map, an Euler step of an ODE."),
        parts=(member_part(), posterior_part(posterior_target), eq12_part(),
               ddpm_step_part(ddpm_target), deterministic_part(deterministic_target)),
        definitions={**DEFINITIONS, x0_hat: X0_HAT},
    )


register(MARGINALS)(build_marginals)
register(SAMPLER)(build_sampler)
