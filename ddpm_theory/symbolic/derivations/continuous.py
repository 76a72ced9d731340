"""Continuous time: the x_0-weighted bound as T → ∞ (Kingma et al. 2021, §4.2 and Eq. 15).

With σ_t² = β̃_t the diffusion loss term is ½(SNR(s) − SNR(t))‖x_0 − x̂_0‖², s = t − 1/T
(the ``loss-weights`` derivation).  Per unit time this weight tends to −½ SNR′(t); its
error is O(1/T) per unit time, so the sum over T steps tends to the integral
−½ ∫_0^1 SNR′(t) ‖x_0 − x̂_0(t)‖² dt, and the learned schedule SNR = exp(−γ) gives
ᾱ = sigmoid(−γ).  The explicit bound on the summed error is the derivation
``continuous-time-remainder``; that the integral depends on the schedule only through
its end points is ``vdm-snr-invariance`` (the stand-in error profile and the SNR variable
v of this module are shared with it).

The schedule here is a concrete family with symbolic coefficients (log-SNR quadratic in
t, increasing), so both the symbolic limit and the independent numeric check (Richardson
extrapolation at 50 digits) can run.
"""

from __future__ import annotations

import sympy as sp

from ...domains import POSITIVE, REAL, UNIT_OPEN
from ..engine import Derivation, Part, Step
from ..notation import sym
from ..registry import register
from ._common import cite

NAME = "continuous-time"
KVDM = "Kingma et al. 2021"

t = sym("tau", UNIT_OPEN, r"t")
h = sym("h", POSITIVE, r"h")
v = sym("v_ct", POSITIVE, r"v")
g0, g1, g2 = (sym(f"g{k}", POSITIVE if k else REAL, rf"\gamma_{k}") for k in range(3))
c0, c1, c2 = (sym(f"c{k}", POSITIVE, rf"c_{k}") for k in range(3))
gamma = sym("gamma", REAL, r"\gamma")


def log_snr_quadratic(u: sp.Expr) -> sp.Expr:
    """γ(u) = γ_0 + γ_1 u + γ_2 u², increasing on (0, 1) for γ_1, γ_2 > 0."""
    return g0 + g1 * u + g2 * u**2


def snr(u: sp.Expr, gam=log_snr_quadratic) -> sp.Expr:
    """SNR(u) = exp(−γ(u)) (Kingma et al. 2021, Eq. 3 with σ² = sigmoid(γ))."""
    return sp.exp(-gam(u))


def error_profile(x: sp.Expr) -> sp.Expr:
    """‖x_0 − x̂_0‖² as a function of the SNR v alone (a polynomial stand-in)."""
    return c0 + c1 * x + c2 * x**2


def weight_limit_part(target=None) -> Part:
    d_snr = sp.diff(snr(t), t)
    target = -d_snr / 2 if target is None else target
    return Part(
        title="The weight per unit time",
        lhs=r"\lim_{h\to0}\tfrac{1}{2h}\left(\mathrm{SNR}(t-h)-\mathrm{SNR}(t)\right)",
        start=sp.Limit((snr(t - h) - snr(t)) / (2 * h), h, 0),
        start_rule=("the x_0-weight ½(SNR(s) − SNR(t)) with s = t − h, h = 1/T, divided by "
                    "the step length h (loss-weights derivation)"),
        cite=cite(KVDM, "§4.2"),
        steps=(
            Step(target, "definition of the derivative: the limit is −½ SNR′(t)",
                 cite(KVDM, "Eq. 15")),
            Step(sp.diff(log_snr_quadratic(t), t) * snr(t) / 2,
                 "SNR = exp(−γ) ⇒ −½ SNR′ = ½ γ′ exp(−γ) > 0 for an increasing γ",
                 cite("standard", "chain rule")),
        ),
    )


def remainder_part() -> Part:
    d2 = sp.diff(snr(t), t, 2)
    return Part(
        title="The discretisation error is O(1/T) per unit time",
        lhs=r"\lim_{h\to0}\tfrac1h\left[\tfrac{1}{2h}(\mathrm{SNR}(t-h)-\mathrm{SNR}(t))"
            r"+\tfrac12\mathrm{SNR}'(t)\right]",
        start=sp.Limit(((snr(t - h) - snr(t)) / (2 * h) + sp.diff(snr(t), t) / 2) / h, h, 0),
        start_rule=("the per-unit-time weight minus its limit, divided by h once more; a finite "
                    "limit means the error is O(h), so T steps of size O(h²) sum to O(1/T) "
                    "and the Riemann sum tends to the integral"),
        cite=cite(KVDM, "§4.2"),
        steps=(
            Step(sp.Limit((sp.diff(snr(t), t) - sp.diff(snr(t), t).subs(t, t - h)) / (4 * h),
                          h, 0),
                 "over the common denominator 2h², numerator SNR(t − h) − SNR(t) + h SNR′(t) "
                 "and denominator vanish at h = 0: L'Hôpital's rule in h",
                 cite("standard", "L'Hôpital's rule")),
            Step(d2 / 4, "the difference quotient of SNR′: ¼ SNR″(t), finite on [0, 1]; the "
                         "explicit bound on the summed error is continuous-time-remainder",
                 cite("standard", "definition of the derivative")),
        ),
    )


def learned_schedule_part() -> Part:
    snr_g = sp.exp(-gamma)
    return Part(
        title="The learned schedule: SNR = exp(−γ) gives ᾱ = sigmoid(−γ), σ² = sigmoid(γ)",
        lhs=r"(\bar\alpha,\ 1-\bar\alpha)",
        start=sp.Tuple(snr_g / (1 + snr_g), 1 - snr_g / (1 + snr_g)),
        start_rule="solve SNR = ᾱ/(1 − ᾱ) for ᾱ: ᾱ = SNR/(1 + SNR)",
        cite=cite(KVDM, "§3"),
        steps=(
            Step(sp.Tuple(snr_g / (1 + snr_g), 1 / (1 + snr_g)),
                 "1 − SNR/(1 + SNR) = 1/(1 + SNR)", cite("standard", "algebra")),
            Step(sp.Tuple(1 / (1 + sp.exp(gamma)), 1 / (1 + sp.exp(-gamma))),
                 "multiply the first by e^γ/e^γ: 1/(1 + e^γ) = sigmoid(−γ); the second is "
                 "sigmoid(γ) = σ² (variance preserving)", cite(KVDM, "Eq. 3")),
        ),
    )


def build(weight_target=None) -> Derivation:
    return Derivation(
        name=NAME,
        title="Continuous time: the T → ∞ limit of the x₀-weighted bound",
        statement=(
            r"\sum_{i=1}^{T}\tfrac12\big(\mathrm{SNR}(s_i)-\mathrm{SNR}(t_i)\big)"
            r"\|x_0-\hat x_0\|^2 \xrightarrow[T\to\infty]{} -\tfrac12\int_0^1 "
            r"\mathrm{SNR}'(t)\|x_0-\hat x_0(t)\|^2dt,\quad \bar\alpha = "
            r"\mathrm{sigmoid}(-\gamma)"
        ),
        premises=(
            r"\text{diffusion loss term } \tfrac12(\mathrm{SNR}(s)-\mathrm{SNR}(t))"
            r"\|x_0-\hat x_0\|^2,\ s = t - 1/T\ \text{(loss-weights)}",
            r"\mathrm{SNR}(t) = \exp(-\gamma(t)),\ \gamma \text{ increasing}",
        ),
        cites=(cite(KVDM, "Eq. 15, §4.2"),),
        summary=("The weight per step becomes a density in time, with an O(1/T) error "
                 "overall; the learned schedule is a sigmoid of the log-SNR."),
        parts=(weight_limit_part(weight_target), remainder_part(), learned_schedule_part()),
        definitions={},
        exports={"alpha_bar_of_gamma": 1 / (1 + sp.exp(gamma))},
    )


register(NAME)(build)
