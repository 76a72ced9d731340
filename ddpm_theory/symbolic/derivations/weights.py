"""Parameterisations of the reverse mean and the loss weights they induce.

Starting from the mean-matching term ‖μ̃_t − μ_θ‖²/(2σ_t²) of L_{t−1} (mean-matching),
per coordinate (every coordinate has the same form):

* mean prediction rewritten through x_t(x_0, ε) = √ᾱ_t x_0 + √(1 − ᾱ_t) ε
  (homework 3.1; Ho et al. 2020, Eq. 10);
* ε-prediction, μ_θ = (x_t − β_t/√(1 − ᾱ_t) ε_θ)/√α_t (homework eq. 12; Ho et al. 2020,
  Eq. 11), giving λ_t = β_t²/(2σ_t² α_t (1 − ᾱ_t)) on (ε − ε_θ)² (Ho et al. 2020, Eq. 12);
* x_0-prediction, μ_θ = μ̃_t(x_t, x̂_0), weight ᾱ_{t−1} β_t²/(2σ_t² (1 − ᾱ_t)²);
* v-prediction, v = √ᾱ_t ε − √(1 − ᾱ_t) x_0 (Salimans & Ho 2022, §4), weight
  (1 − ᾱ_t) times the x_0-weight;
* score prediction, ε_θ = −√(1 − ᾱ_t) s_θ (Song et al. 2021), weight (1 − ᾱ_t) λ_t on
  (s_θ − ∇log q(x_t|x_0))², in SNR terms ½(SNR(t−1)/SNR(t) − 1)/(1 + SNR(t));
* with σ_t² = β̃_t the weights in SNR(t) = ᾱ_t/(1 − ᾱ_t) (Kingma et al. 2021, Eq. 13):
  ε: ½(SNR(t−1)/SNR(t) − 1); x_0: ½(SNR(t−1) − SNR(t)); v: ½(SNR(t−1) − SNR(t))/(1 + SNR(t)),
  each through the intermediate forms β̃_t cancels, then ᾱ_{t−1} β_t = ᾱ_{t−1} − ᾱ_t;
* L_simple sets λ_t ≡ 1 on (ε − ε_θ)² (Ho et al. 2020, Eq. 14): relative to the bound it
  weights step t by 1/λ_t, and in x_0 terms it is SNR(t)(x_0 − x̂_0)².
"""

from __future__ import annotations

import sympy as sp

from ...domains import REAL
from ..engine import Derivation, Part, Step
from ..notation import (
    alpha,
    alpha_bar,
    alpha_bar_prev,
    beta,
    eps,
    eps_theta,
    mu_theta,
    sigma2,
    sym,
    x0,
    x0_hat,
    xt,
)
from ..registry import register
from ._common import HO, HW, cite
from .posterior import BETA_TILDE, MU_TILDE

NAME = "loss-weights"
KVDM = "Kingma et al. 2021"

v_hat = sym("vhat", REAL, r"\hat v")
s_theta = sym("s_theta", REAL, r"s_\theta")

X_T = sp.sqrt(alpha_bar) * x0 + sp.sqrt(1 - alpha_bar) * eps        # x_t(x_0, ε)
V = sp.sqrt(alpha_bar) * eps - sp.sqrt(1 - alpha_bar) * x0           # the v target
SNR_T = alpha_bar / (1 - alpha_bar)
SNR_PREV = alpha_bar_prev / (1 - alpha_bar_prev)

#: the weights (the targets of the parts; exported for the numeric and audit layers)
LAMBDA_EPS = beta**2 / (2 * sigma2 * alpha * (1 - alpha_bar))
LAMBDA_X0 = alpha_bar_prev * beta**2 / (2 * sigma2 * (1 - alpha_bar) ** 2)
LAMBDA_V = LAMBDA_X0 * (1 - alpha_bar)
LAMBDA_EPS_SNR = (SNR_PREV / SNR_T - 1) / 2
LAMBDA_X0_SNR = (SNR_PREV - SNR_T) / 2
LAMBDA_V_SNR = (SNR_PREV - SNR_T) / (2 * (1 + SNR_T))

MU_EPS = (xt - beta / sp.sqrt(1 - alpha_bar) * eps_theta) / sp.sqrt(alpha)  # Ho Eq. 11


#: μ̃_t = C_X0 x_0 + C_XT x_t (Ho et al. 2020, Eq. 7)
C_X0 = sp.sqrt(alpha_bar_prev) * beta / (1 - alpha_bar)
C_XT = sp.sqrt(alpha) * (1 - alpha_bar_prev) / (1 - alpha_bar)
SQ = sp.sqrt(1 - alpha_bar)
#: the score of q(x_t|x_0) at x_t = x_t(x_0, ε), and the score model's prediction
SCORE_Q = -(X_T - sp.sqrt(alpha_bar) * x0) / (1 - alpha_bar)
LAMBDA_SCORE = LAMBDA_EPS * (1 - alpha_bar)
LAMBDA_SCORE_SNR = LAMBDA_EPS_SNR / (1 + SNR_T)
ALG = cite("standard", "algebra")


def _mm(mean_target):
    return (mean_target - mu_theta) ** 2 / (2 * sigma2)


def mean_part() -> Part:
    x0_of = (X_T - SQ * eps) / sp.sqrt(alpha_bar)
    return Part(
        title="Mean prediction through x_t(x_0, ε)",
        lhs=r"\|\tilde\mu_t(x_t, x_0) - \mu_\theta(x_t, t)\|^2/(2\sigma_t^2)",
        start=_mm(MU_TILDE).xreplace({xt: X_T}),
        start_rule="the mean-matching term of L_{t−1} with x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε",
        cite=cite(HW, "eq. 11"),
        steps=(
            Step(_mm(C_X0 * x0_of + C_XT * X_T),
                 "eliminate x_0 = (x_t − √(1 − ᾱ_t) ε)/√ᾱ_t from μ̃_t = c_0 x_0 + c_t x_t",
                 cite(HO, "Eq. 4")),
            Step(_mm((C_X0 / sp.sqrt(alpha_bar) + C_XT) * X_T
                     - C_X0 * SQ / sp.sqrt(alpha_bar) * eps),
                 "collect x_t and ε", ALG),
            Step(_mm(X_T / sp.sqrt(alpha) - beta / (sp.sqrt(alpha) * SQ) * eps),
                 "c_0/√ᾱ_t + c_t = (β_t + α_t(1 − ᾱ_{t−1}))/(√α_t (1 − ᾱ_t)) = 1/√α_t and "
                 "c_0 √(1 − ᾱ_t)/√ᾱ_t = β_t/(√α_t √(1 − ᾱ_t)), as √ᾱ_{t−1}/√ᾱ_t = 1/√α_t",
                 cite(HO, "Eq. 10")),
            Step(_mm((X_T - beta / SQ * eps) / sp.sqrt(alpha)),
                 "μ̃_t(x_t(x_0, ε), x_0) = (x_t − β_t ε/√(1 − ᾱ_t))/√α_t",
                 cite(HO, "Eq. 10"), note="homework 3.1"),
        ),
    )


def eps_parts(lam_eps) -> tuple[Part, Part]:
    e_th = eps_theta
    plug = Part(
        title="The ε-parameterised mean is μ̃_t at the implied x̂_0",
        lhs=r"\tilde\mu_t\big(x_t, \tfrac{1}{\sqrt{\bar\alpha_t}}(x_t - \sqrt{1-\bar\alpha_t}"
            r"\,\epsilon_\theta)\big)",
        start=MU_TILDE.xreplace({x0: (xt - SQ * e_th) / sp.sqrt(alpha_bar)}),
        start_rule="homework eq. 12, left: the posterior mean at x̂_0(x_t, ε_θ)",
        cite=cite(HW, "eq. 12"),
        steps=(
            Step((C_X0 / sp.sqrt(alpha_bar) + C_XT) * xt - C_X0 * SQ / sp.sqrt(alpha_bar) * e_th,
                 "collect x_t and ε_θ", ALG),
            Step(xt / sp.sqrt(alpha) - beta / (sp.sqrt(alpha) * SQ) * e_th,
                 "the same two coefficients as in the mean-prediction part: 1/√α_t and "
                 "β_t/(√α_t √(1 − ᾱ_t))", cite(HO, "Eq. 10")),
            Step(MU_EPS, "factor out 1/√α_t: (x_t − β_t ε_θ/√(1 − ᾱ_t))/√α_t",
                 cite(HO, "Eq. 11")),
        ),
    )
    k = beta / (sp.sqrt(alpha) * SQ)
    loss = Part(
        title="ε-prediction: the weight λ_t",
        lhs=r"\|\tilde\mu_t - \mu_\theta\|^2/(2\sigma_t^2)",
        start=_mm((X_T - beta / SQ * eps) / sp.sqrt(alpha))
        .xreplace({mu_theta: MU_EPS.xreplace({xt: X_T})}),
        start_rule="the mean-prediction form with μ_θ = (x_t − β_t ε_θ/√(1 − ᾱ_t))/√α_t",
        cite=cite(HW, "eq. 12"),
        steps=(
            Step((k * (e_th - eps)) ** 2 / (2 * sigma2),
                 "x_t/√α_t cancels; the difference is β_t(ε_θ − ε)/(√α_t √(1 − ᾱ_t))", ALG),
            Step(beta**2 / (alpha * (1 - alpha_bar)) * (eps - e_th) ** 2 / (2 * sigma2),
                 "square the coefficient", ALG),
            Step(lam_eps * (eps - e_th) ** 2,
                 "the weight on (ε − ε_θ)² is β_t²/(2σ_t² α_t (1 − ᾱ_t))", cite(HO, "Eq. 12")),
        ),
    )
    return plug, loss


def x0_v_parts(lam_x0, lam_v) -> tuple[Part, Part]:
    x0p = Part(
        title="x_0-prediction: the weight",
        lhs=r"\|\tilde\mu_t(x_t, x_0) - \tilde\mu_t(x_t, \hat x_0)\|^2/(2\sigma_t^2)",
        start=_mm(MU_TILDE).xreplace({mu_theta: MU_TILDE.xreplace({x0: x0_hat})}),
        start_rule="μ_θ(x_t, t) = μ̃_t(x_t, x̂_0(x_t, t)): the model predicts x_0",
        cite=cite(KVDM, "Eq. 13"),
        steps=(
            Step((C_X0 * (x0 - x0_hat)) ** 2 / (2 * sigma2),
                 "the x_t terms c_t x_t cancel; c_0 x_0 − c_0 x̂_0 is left", ALG),
            Step(alpha_bar_prev * beta**2 / (1 - alpha_bar) ** 2 * (x0 - x0_hat) ** 2
                 / (2 * sigma2), "square c_0 = √ᾱ_{t−1} β_t/(1 − ᾱ_t)", ALG),
            Step(lam_x0 * (x0 - x0_hat) ** 2,
                 "the weight ᾱ_{t−1} β_t²/(2σ_t² (1 − ᾱ_t)²) on (x_0 − x̂_0)²",
                 cite("VAE/VDM notes", "x_0 objective")),
        ),
    )
    recon = sp.sqrt(alpha_bar) * X_T - SQ * V          # = x_0
    vp = Part(
        title="v-prediction: the weight",
        lhs=r"\lambda^{x_0}_t \|x_0 - \hat x_0\|^2",
        start=LAMBDA_X0 * (x0 - (sp.sqrt(alpha_bar) * X_T - SQ * v_hat)) ** 2,
        start_rule=("x̂_0 = √ᾱ_t x_t − √(1 − ᾱ_t) v̂ (Salimans & Ho 2022, §4), with x_t = "
                    "x_t(x_0, ε)"),
        cite=cite("Salimans & Ho 2022", "§4, App. D"),
        steps=(
            Step(LAMBDA_X0 * (x0 - recon - SQ * (V - v_hat)) ** 2,
                 "add and subtract √(1 − ᾱ_t) v with v = √ᾱ_t ε − √(1 − ᾱ_t) x_0", ALG),
            Step(LAMBDA_X0 * (SQ * (V - v_hat)) ** 2,
                 "√ᾱ_t x_t − √(1 − ᾱ_t) v = (ᾱ_t + 1 − ᾱ_t) x_0 = x_0",
                 cite("Salimans & Ho 2022", "§4")),
            Step(lam_v * (V - v_hat) ** 2, "weight (1 − ᾱ_t) λ^{x_0}_t on (v − v̂)²",
                 cite("Salimans & Ho 2022", "§4")),
        ),
    )
    return x0p, vp


def score_part() -> Part:
    s_th = s_theta
    return Part(
        title="Score prediction: the weight",
        lhs=r"\lambda_t \|\epsilon - \epsilon_\theta\|^2",
        start=LAMBDA_EPS * (eps - (-SQ * s_th)) ** 2,
        start_rule=("a score model s_θ(x_t, t) predicts ∇log q(x_t); its ε-prediction is "
                    "ε_θ = −√(1 − ᾱ_t) s_θ"),
        cite=cite("Song et al. 2021", "Eq. 7"),
        steps=(
            Step(LAMBDA_EPS * (-SQ * SCORE_Q + SQ * s_th) ** 2,
                 "ε = −√(1 − ᾱ_t) ∇log q(x_t|x_0), with ∇_{x_t} log q(x_t|x_0) = "
                 "−(x_t − √ᾱ_t x_0)/(1 − ᾱ_t) at x_t = x_t(x_0, ε)",
                 cite("Vincent 2011", "the DSM objective J_DSM")),
            Step(LAMBDA_EPS * (1 - alpha_bar) * (s_th - SCORE_Q) ** 2,
                 "take √(1 − ᾱ_t) out of the square", ALG),
            Step(LAMBDA_SCORE * (s_th - SCORE_Q) ** 2,
                 "the weight (1 − ᾱ_t) λ_t = β_t²/(2σ_t² α_t) on the score error",
                 cite("Song et al. 2021", "Eq. 7")),
        ),
    )


def snr_part(title, weight, mids, target, cite_) -> Part:
    """σ_t² = β̃_t in ``weight``, the intermediate forms ``mids``, then ``target``."""
    return Part(
        title=title,
        lhs=r"\lambda_t\big|_{\sigma_t^2 = \tilde\beta_t}",
        start=weight.xreplace({sigma2: BETA_TILDE}),
        start_rule="σ_t² = β̃_t = (1 − ᾱ_{t−1}) β_t/(1 − ᾱ_t) (Ho et al. 2020, Eq. 7)",
        cite=cite_,
        steps=(*[Step(e, rule, c) for e, rule, c in mids],
               Step(target, "with SNR(t) = ᾱ_t/(1 − ᾱ_t)", cite(KVDM, "Eq. 13"))),
    )


#: ᾱ_{t−1} − ᾱ_t = ᾱ_{t−1} β_t: the numerator every SNR form shares
DROP = alpha_bar_prev - alpha_bar
CANCEL = cite(HO, "Eq. 7")
DROP_CITE = cite(HO, "§2")


def snr_parts(eps_snr, x0_snr, v_snr) -> tuple[Part, ...]:
    one = 1 - alpha_bar_prev
    return (
        snr_part("ε-weight in SNR terms", LAMBDA_EPS, [
            (beta / (2 * alpha * one), "β̃_t cancels one β_t and the 1 − ᾱ_t", CANCEL),
            (DROP / (2 * alpha_bar * one), "β_t/α_t = (ᾱ_{t−1} − ᾱ_t)/ᾱ_t", DROP_CITE),
        ], eps_snr, cite(HO, "Eq. 12")),
        snr_part("x_0-weight in SNR terms", LAMBDA_X0, [
            (alpha_bar_prev * beta / (2 * one * (1 - alpha_bar)),
             "β̃_t cancels one β_t and one 1 − ᾱ_t", CANCEL),
            (DROP / (2 * one * (1 - alpha_bar)), "ᾱ_{t−1} β_t = ᾱ_{t−1} − ᾱ_t", DROP_CITE),
        ], x0_snr, cite(KVDM, "Eq. 13")),
        snr_part("v-weight in SNR terms", LAMBDA_V, [
            (alpha_bar_prev * beta / (2 * one), "β̃_t cancels β_t and both 1 − ᾱ_t", CANCEL),
            ((1 - alpha_bar) * LAMBDA_X0_SNR,
             "(1 − ᾱ_t) times the x_0-weight's form ½(SNR(t−1) − SNR(t))", DROP_CITE),
        ], v_snr, cite("Salimans & Ho 2022", "§4")),
        snr_part("Score weight in SNR terms", LAMBDA_SCORE, [
            (beta * (1 - alpha_bar) / (2 * alpha * one), "β̃_t cancels one β_t", CANCEL),
            ((1 - alpha_bar) * LAMBDA_EPS_SNR,
             "(1 − ᾱ_t) times the ε-weight's form; 1 − ᾱ_t = 1/(1 + SNR(t))", DROP_CITE),
        ], LAMBDA_SCORE_SNR, cite("Song et al. 2021", "Eq. 7")),
    )


def simple_parts() -> tuple[Part, Part]:
    eps_of_x0hat = (X_T - sp.sqrt(alpha_bar) * x0_hat) / SQ
    in_x0 = Part(
        title="L_simple in x_0 terms",
        lhs=r"\|\epsilon - \epsilon_\theta\|^2",
        start=(eps - eps_of_x0hat) ** 2,
        start_rule=("L_simple's term with λ_t ≡ 1 (Ho et al. 2020, Eq. 14); ε_θ written through "
                    "the implied x̂_0 = (x_t − √(1 − ᾱ_t) ε_θ)/√ᾱ_t"),
        cite=cite(HO, "Eq. 14"),
        steps=(
            Step((sp.sqrt(alpha_bar) * (x0_hat - x0) / SQ) ** 2,
                 "(x_t − √ᾱ_t x̂_0)/√(1 − ᾱ_t) = ε + √ᾱ_t (x_0 − x̂_0)/√(1 − ᾱ_t): the ε "
                 "terms cancel", ALG),
            Step(SNR_T * (x0 - x0_hat) ** 2,
                 "square: weight ᾱ_t/(1 − ᾱ_t) = SNR(t) on (x_0 − x̂_0)²", cite(KVDM, "App. E")),
        ),
    )
    relative = Part(
        title="L_simple against the bound",
        lhs=r"1/\lambda_t\big|_{\sigma_t^2 = \tilde\beta_t}",
        start=1 / LAMBDA_EPS.xreplace({sigma2: BETA_TILDE}),
        start_rule=("the bound's term is λ_t (ε − ε_θ)² and L_simple's is (ε − ε_θ)², so "
                    "L_simple reweights step t by 1/λ_t"),
        cite=cite(HO, "§3.4"),
        steps=(
            Step(2 * alpha * (1 - alpha_bar_prev) / beta,
                 "invert the ε-weight at σ_t² = β̃_t: β_t/(2α_t(1 − ᾱ_{t−1}))", CANCEL),
            Step(2 * alpha_bar * (1 - alpha_bar_prev) / DROP,
                 "α_t/β_t = ᾱ_t/(ᾱ_{t−1} − ᾱ_t)", DROP_CITE),
            Step(2 * SNR_T / (SNR_PREV - SNR_T),
                 "in SNR terms: large where SNR falls slowly (small t is down-weighted "
                 "relative to the bound, since there SNR(t−1) − SNR(t) is large)",
                 cite(HO, "§3.4")),
        ),
    )
    return in_x0, relative


def build(lam_eps=LAMBDA_EPS, lam_x0=LAMBDA_X0, lam_v=LAMBDA_V, eps_snr=LAMBDA_EPS_SNR,
          x0_snr=LAMBDA_X0_SNR, v_snr=LAMBDA_V_SNR) -> Derivation:
    return Derivation(
        name=NAME,
        title="Parameterisations of μ_θ and their loss weights",
        statement=(
            r"L_{t-1} - C_t = \lambda^\epsilon_t\|\epsilon-\epsilon_\theta\|^2 = "
            r"\lambda^{x_0}_t\|x_0-\hat x_0\|^2 = \lambda^{v}_t\|v-\hat v\|^2,\quad "
            r"\lambda^\epsilon_t = \frac{\beta_t^2}{2\sigma_t^2\alpha_t(1-\bar\alpha_t)}"
            r"\overset{\sigma_t^2=\tilde\beta_t}{=}\tfrac12\Big(\frac{\mathrm{SNR}(t-1)}"
            r"{\mathrm{SNR}(t)}-1\Big)"
        ),
        premises=(
            r"\tilde\mu_t\ \text{of bayes-posterior};\ L_{t-1} = \|\tilde\mu_t - \mu_\theta\|^2"
            r"/(2\sigma_t^2) + C_t\ \text{(mean-matching)}",
            r"x_t = \sqrt{\bar\alpha_t}x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon",
        ),
        cites=(cite(HO, "Eqs. 10–12, 14"), cite(HW, "eqs. 11, 12"), cite(KVDM, "Eq. 13"),
               cite("Salimans & Ho 2022", "§4")),
        summary=("One loss, five parameterisations: only the weight changes. With σ_t² = β̃_t "
                 "every weight is a function of the SNR at t − 1 and t."),
        parts=(
            mean_part(), *eps_parts(lam_eps), *x0_v_parts(lam_x0, lam_v), score_part(),
            *snr_parts(eps_snr, x0_snr, v_snr), *simple_parts(),
        ),
        exports={
            "lambda_eps": LAMBDA_EPS, "lambda_x0": LAMBDA_X0, "lambda_v": LAMBDA_V,
            "lambda_eps_snr": LAMBDA_EPS_SNR, "lambda_x0_snr": LAMBDA_X0_SNR,
            "lambda_v_snr": LAMBDA_V_SNR, "snr": SNR_T, "simple_x0_weight": SNR_T,
        },
    )


register(NAME)(build)
