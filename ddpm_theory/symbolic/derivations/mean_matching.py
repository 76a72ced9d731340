"""L_{t−1} as mean matching: KL(N(μ̃_t, β̃_t I) ‖ N(μ_θ, σ_t² I)) = ‖μ̃_t − μ_θ‖²/(2σ_t²) + C_t.

From the KL's definition, coordinate by coordinate in a symbolic dimension d (induction
on d), the θ-free remainder C_t is *computed* (the KL at μ_θ = μ̃_t) and then studied:
C_t = (d/2)(β̃_t/σ_t² − 1 − log(β̃_t/σ_t²)) ≥ 0, its only stationary point in σ_t² is
σ_t² = β̃_t where it vanishes, and with Ho et al.'s other choice σ_t² = β_t it is the
positive variance-mismatch term (d/2)(r − 1 − log r), r = (1 − ᾱ_{t−1})/(1 − ᾱ_t)
(Ho et al. 2020, Eq. 8 and §3.2; homework eq. 11).
"""

from __future__ import annotations

import sympy as sp

from ...domains import REAL
from ..certificates import LogGap
from ..engine import Derivation, Part, Relation, Step
from ..expectation import GaussE
from ..notation import alpha_bar, alpha_bar_prev, beta, beta_tilde, d, sigma2, sym
from ..registry import register
from ._common import HO, HW, cite, gaussian_logpdf
from .kl import kl_univariate

NAME = "mean-matching"

i = sp.Symbol("i", integer=True, positive=True)
MT = sp.IndexedBase(sym("mutilde", REAL, r"\tilde\mu"))
MP = sp.IndexedBase(sym("mutheta", REAL, r"\mu_\theta"))
y = sym("y_mm", REAL, "x_{t-1}")

#: the θ-free remainder, computed as the KL at μ_θ = μ̃_t summed over d coordinates
C_T = sp.expand(d * kl_univariate(0, beta_tilde, 0, sigma2))
#: textbook form (Ho et al. 2020, Eq. 8 context)
C_T_TEXTBOOK = d / 2 * (sp.log(sigma2 / beta_tilde) + beta_tilde / sigma2 - 1)
BETA_TILDE = (1 - alpha_bar_prev) / (1 - alpha_bar) * beta


def _g(r):
    return r - 1 - sp.log(r)


def matching_part(c_target=None) -> Part:
    c_target = C_T_TEXTBOOK if c_target is None else c_target
    sq = sp.Sum((MT[i] - MP[i]) ** 2, (i, 1, d))
    return Part(
        title="The KL as a weighted squared error plus C_t",
        lhs=r"\mathrm{KL}(q(x_{t-1}|x_t,x_0)\,\|\,p_\theta(x_{t-1}|x_t))",
        start=sp.Sum(GaussE(gaussian_logpdf(y, MT[i], beta_tilde)
                            - gaussian_logpdf(y, MP[i], sigma2), y, MT[i], beta_tilde),
                     (i, 1, d)),
        start_rule=("KL = E_q[log q − log p_θ] with both densities isotropic Gaussians, so it "
                    "is a sum over the d coordinates"),
        cite=cite(HO, "Eq. 8"),
        steps=(
            Step(sp.Sum(kl_univariate(MT[i], beta_tilde, MP[i], sigma2), (i, 1, d)),
                 "each coordinate by Gaussian moments (gaussian-kl, part 1)",
                 cite("standard", "moments of a Gaussian")),
            Step(sq / (2 * sigma2) + C_T,
                 "split off the mean terms: ‖μ̃_t − μ_θ‖²/(2σ_t²); the rest is the KL at "
                 "μ_θ = μ̃_t, d times", cite(HW, "eq. 11")),
            Step(sq / (2 * sigma2) + c_target,
                 "C_t = (d/2)(log(σ_t²/β̃_t) + β̃_t/σ_t² − 1), which does not depend on θ",
                 cite(HO, "Eq. 8")),
        ),
    )


def remainder_parts(c_target=None) -> tuple[Part, ...]:
    c = C_T_TEXTBOOK if c_target is None else c_target
    r = beta_tilde / sigma2
    return (
        Part(
            title="C_t ≥ 0",
            lhs="C_t",
            start=c,
            start_rule="the remainder of the previous part",
            cite=cite(HO, "Eq. 8"),
            steps=(
                Step(d / 2 * (r - 1 - sp.log(r)),
                     "log(σ_t²/β̃_t) = −log(β̃_t/σ_t²): C_t = (d/2)(r − 1 − log r), r = β̃_t/σ_t²",
                     cite("standard", "log of a reciprocal")),
                Step(d / 2 * LogGap(r), "this is (d/2) g(r) with g(r) = r − 1 − log r",
                     cite("Cover & Thomas 2006", "Thm. 2.6.3")),
                Step(sp.Integer(0),
                     "g ≥ 0 on (0, ∞) (log-inequality) and d/2 > 0",
                     cite("Cover & Thomas 2006", "Thm. 2.6.3"),
                     relation=Relation.GE, gap=d / 2 * LogGap(r)),
            ),
        ),
        Part(
            title="Its only stationary point is σ_t² = β̃_t",
            lhs=r"\partial C_t/\partial\sigma_t^2",
            start=sp.diff(c, sigma2),
            start_rule="differentiate C_t in σ_t²",
            cite=cite(HO, "§3.2"),
            steps=(
                Step(d / 2 * (sp.Mul(1 / beta_tilde, 1 / (sigma2 / beta_tilde), evaluate=False)
                              - beta_tilde / sigma2**2),
                     "term by term: the chain rule ∂ log(σ_t²/β̃_t) = (1/β̃_t)/(σ_t²/β̃_t), and "
                     "∂ (β̃_t/σ_t²) = −β̃_t/σ_t⁴",
                     cite("standard", "derivative of a logarithm and of a reciprocal")),
                Step(d * (sigma2 - beta_tilde) / (2 * sigma2**2),
                     "over the common denominator: negative below β̃_t and positive above, so "
                     "C_t decreases, then increases: σ_t² = β̃_t is its unique minimiser",
                     cite(HO, "§3.2")),
            ),
        ),
        Part(
            title="C_t vanishes at σ_t² = β̃_t",
            lhs=r"C_t\big|_{\sigma_t^2 = \tilde\beta_t}",
            start=d / 2 * LogGap(beta_tilde / beta_tilde),
            start_rule="σ_t² = β̃_t, the posterior variance (Ho et al. 2020, Eq. 7)",
            cite=cite(HO, "Eq. 7"),
            steps=(
                Step(-d / 2 * sp.log(sp.Integer(1), evaluate=False),
                     "C_t = (d/2) g(β̃_t/σ_t²) (the part C_t ≥ 0) at r = 1: g(1) = 1 − 1 − log 1",
                     cite("Cover & Thomas 2006", "Thm. 2.6.3")),
                Step(sp.Integer(0), "log 1 = 0: g(r) = 0 iff r = 1, so C_t = 0 exactly when "
                                    "σ_t² = β̃_t", cite(HO, "§3.2")),
            ),
        ),
        Part(
            title="The variance mismatch at σ_t² = β_t",
            lhs=r"C_t\big|_{\sigma_t^2 = \beta_t}",
            start=c.xreplace({sigma2: beta, beta_tilde: BETA_TILDE}),
            start_rule="Ho et al.'s other choice σ_t² = β_t, with β̃_t = (1 − ᾱ_{t−1})β_t/(1 − ᾱ_t)",
            cite=cite(HO, "§3.2"),
            steps=(
                Step(d / 2 * _g((1 - alpha_bar_prev) / (1 - alpha_bar)),
                     "β̃_t/β_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t) =: r", cite(HO, "Eq. 7")),
                Step(sp.Integer(0),
                     "r < 1 for t ≥ 2 (ᾱ_t < ᾱ_{t−1}), so g(r) > 0: the mismatch is strictly "
                     "positive, a θ-free constant in L_{t−1}", cite(HO, "§3.2"),
                     relation=Relation.GE, gap=d / 2 * _g((1 - alpha_bar_prev) / (1 - alpha_bar))),
            ),
        ),
    )


def build(c_target=None) -> Derivation:
    return Derivation(
        name=NAME,
        title="L_{t−1} as mean matching, and the variance-mismatch constant C_t",
        statement=(
            r"\mathrm{KL}(\mathcal{N}(\tilde\mu_t, \tilde\beta_t I)\,\|\,\mathcal{N}(\mu_\theta,"
            r"\sigma_t^2 I)) = \frac{\|\tilde\mu_t - \mu_\theta\|^2}{2\sigma_t^2} + C_t,\quad "
            r"C_t = \frac d2\Big(\log\frac{\sigma_t^2}{\tilde\beta_t} + \frac{\tilde\beta_t}"
            r"{\sigma_t^2} - 1\Big) \ge 0"
        ),
        premises=(r"q(x_{t-1}|x_t,x_0) = \mathcal{N}(\tilde\mu_t, \tilde\beta_t I)"
                  r"\ \text{(bayes-posterior)}",
                  r"p_\theta(x_{t-1}|x_t) = \mathcal{N}(\mu_\theta, \sigma_t^2 I)"),
        cites=(cite(HO, "Eq. 8"), cite(HW, "eq. 11")),
        summary=("With a fixed reverse variance, only the mean is learned: L_{t−1} is a "
                 "weighted squared error plus a constant that vanishes iff σ_t² = β̃_t."),
        parts=(matching_part(c_target), *remainder_parts(c_target)),
        exports={
            "mean_matching_weight": 1 / (2 * sigma2),
            "C_t": C_T_TEXTBOOK,
        },
    )


register(NAME)(build)
