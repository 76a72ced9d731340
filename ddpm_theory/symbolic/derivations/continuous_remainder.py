"""The T-step bound against its continuous-time limit, with the remainder bounded.

The x_0-weighted diffusion term of a T-step chain on [0, 1] (t_i = i/T, h = 1/T) is
Σ_i ½(SNR(t_{i−1}) − SNR(t_i)) E(t_i), E(t) = ‖x_0 − x̂_0(t)‖²; its limit is
½∫_0^1 −SNR′(t) E(t) dt (Kingma et al. 2021, Eq. 15).  For a decreasing SNR and an
increasing E the remainder R_T (sum minus integral) satisfies

    0 ≤ R_T ≤ (1/(2T)) · sup |SNR′| · (E(1) − E(0)),

shown step by step on one interval [a, a + h] -- the remainder is an integral of a
non-negative function, bounded by ½(SNR(a) − SNR(a + h))(E(a + h) − E(a)), then by
½h · sup |SNR′| · (E(a + h) − E(a)) through e^{−x} ≥ 1 − x (the lemma ``log-inequality``) --
and summed over the T intervals, where the increments of E telescope.  Every inequality
is a checked step with its certificate.  The engine checks a concrete family with
symbolic coefficients: log-SNR linear, SNR(t) = SNR(0) e^{−γ_1 t} (γ_1 > 0), and E quadratic
with positive slope, E(t) = e_0 + e_1 t + e_2 t² (e_1, e_2 > 0), so sup |SNR′| =
γ_1 SNR(0).
"""

from __future__ import annotations

import sympy as sp

from ...domains import POSITIVE, REAL, TIMESTEP, UNIT_OPEN
from ..certificates import LogGap
from ..engine import Derivation, Part, Relation, Step
from ..notation import sym
from ..registry import register
from ._common import cite

NAME = "continuous-time-remainder"
KVDM = "Kingma et al. 2021"

u = sym("u_rem", UNIT_OPEN, r"u")
a = sym("a_rem", UNIT_OPEN, r"a")
h = sym("h_rem", UNIT_OPEN, r"h")              # h = 1/T
s0 = sym("snr0_rem", POSITIVE, r"\mathrm{SNR}(0)")
g1 = sym("gamma1_rem", POSITIVE, r"\gamma_1")
e0 = sym("e0_rem", REAL, r"e_0")
e1 = sym("e1_rem", POSITIVE, r"e_1")
e2 = sym("e2_rem", POSITIVE, r"e_2")
n = sym("n_rem", TIMESTEP, r"T")
i = sp.Symbol("i", integer=True, positive=True)
E_AT = sp.IndexedBase(sym("E_rem", REAL, r"E"))
b = a + h


def snr(w: sp.Expr) -> sp.Expr:
    """SNR(w) = SNR(0) e^{−γ_1 w}: log-SNR linear, decreasing (Kingma et al. 2021, Eq. 3)."""
    return s0 * sp.exp(-g1 * w)


def err(w: sp.Expr) -> sp.Expr:
    """E(w) = e_0 + e_1 w + e_2 w², increasing on [0, ∞): the stand-in ‖x_0 − x̂_0(w)‖²."""
    return e0 + e1 * w + e2 * w**2


NEG_DSNR = g1 * snr(u)                                   # −SNR′(u) > 0
INCREMENT = h * (e1 + e2 * (2 * a + h))                  # E(b) − E(a), factored
SUP = g1 * s0                                            # sup_{[0,1]} |SNR′| = |SNR′(0)|


def interval_part(upper: sp.Expr | None = None) -> Part:
    """One interval: 0 ≤ r ≤ ½h · sup |SNR′| · (E(b) − E(a)); ``upper`` plants slips."""
    r = sp.Integral(NEG_DSNR * (b - u) * (e1 + e2 * (b + u)), (u, a, b)) / 2
    bound1 = (snr(a) - snr(b)) * INCREMENT / 2
    bound2 = h * g1 * snr(a) * INCREMENT / 2
    upper = h * SUP * INCREMENT / 2 if upper is None else upper
    return Part(
        title="One step: an upper bound with an explicit constant",
        lhs=r"r = \tfrac12(\mathrm{SNR}(a)-\mathrm{SNR}(b))E(b) - \tfrac12\int_a^b "
            r"-\mathrm{SNR}'(u)E(u)\,du",
        start=(snr(a) - snr(b)) * err(b) / 2
        - sp.Integral(NEG_DSNR * err(u), (u, a, b)) / 2,
        start_rule=("the T-step term on [a, b], b = a + h, minus its share of the "
                    "continuous-time integral"),
        cite=cite(KVDM, "Eq. 15"),
        steps=(
            Step(r, "SNR(a) − SNR(b) = ∫_a^b −SNR′(u) du, and E(b) − E(u) = (b − u)(e_1 + "
                    "e_2(b + u))", cite("standard", "fundamental theorem of calculus")),
            Step(bound1, "E(b) − E(u) = (E(b) − E(a)) − (E(u) − E(a)) and ∫_a^b −SNR′ = "
                 "SNR(a) − SNR(b); the dropped ½∫ −SNR′·(E(u) − E(a)) is ≥ 0 (E increases, "
                 "SNR decreases)",
                 cite("standard", "monotonicity of the integral"), relation=Relation.LE,
                 gap=sp.Integral(NEG_DSNR * (u - a) * (e1 + e2 * (u + a)), (u, a, b)) / 2),
            Step(bound2, "SNR(a) − SNR(a + h) ≤ h γ_1 SNR(a): with u = SNR(b)/SNR(a) = "
                         "e^{−γ_1 h}, u − 1 − log u ≥ 0",
                 cite("standard", "e^{−x} ≥ 1 − x"), relation=Relation.LE,
                 gap=snr(a) * INCREMENT * LogGap(snr(b) / snr(a)) / 2),
            Step(upper, "SNR(a) ≤ SNR(0): γ_1 SNR(0) = sup|SNR′| on [0, 1]",
                 cite("standard", "e^{x} ≥ 1 + x"), relation=Relation.LE,
                 gap=h * g1 * INCREMENT * snr(a)
                 * (LogGap(sp.exp(g1 * a)) + g1 * a) / 2),
        ),
    )


def lower_part() -> Part:
    r = sp.Integral(NEG_DSNR * (b - u) * (e1 + e2 * (b + u)), (u, a, b)) / 2
    return Part(
        title="One step: the remainder is non-negative",
        lhs=r"r = \tfrac12\int_a^b -\mathrm{SNR}'(u)\,(b-u)(e_1+e_2(b+u))\,du",
        start=r,
        start_rule=("the remainder on [a, b] in the integral form of the next part's first "
                    "step"),
        cite=cite(KVDM, "Eq. 15"),
        steps=(
            Step(sp.Integer(0), "the integrand γ_1 SNR(u)(b − u)(e_1 + e_2(b + u)) is a "
                 "product of positive factors on (a, b)",
                 cite("standard", "monotonicity of the integral"), relation=Relation.GE,
                 gap=r),
        ),
    )


def sum_part(target: sp.Expr | None = None) -> Part:
    target = h * SUP * (E_AT[n] - E_AT[0]) / 2 if target is None else target
    return Part(
        title="All T steps: the increments of E telescope",
        lhs=r"\sum_{i=1}^{T}\tfrac12 h\,\sup|\mathrm{SNR}'|\,(E(t_i) - E(t_{i-1}))",
        start=sp.Sum(h * SUP * (E_AT[i] - E_AT[i - 1]) / 2, (i, 1, n)),
        start_rule=("the per-step bounds added over the T intervals [t_{i−1}, t_i], "
                    "E_i = E(t_i)"),
        cite=cite(KVDM, "§4.2"),
        steps=(
            Step(h * SUP * sp.Sum(E_AT[i] - E_AT[i - 1], (i, 1, n)) / 2,
                 "the factor does not depend on i", cite("standard", "linearity of sums")),
            Step(target, "telescoping: E_T − E_0 = E(1) − E(0); with h = 1/T, 0 ≤ R_T ≤ "
                         "sup|SNR′|(E(1) − E(0))/(2T)", cite(KVDM, "§4.2")),
        ),
    )


def build(upper: sp.Expr | None = None, sum_target: sp.Expr | None = None) -> Derivation:
    return Derivation(
        name=NAME,
        title="Continuous time: the T-step remainder is at most C/T",
        statement=(r"0 \le \sum_{i=1}^{T}\tfrac12\big(\mathrm{SNR}(t_{i-1})-\mathrm{SNR}"
                   r"(t_i)\big)E(t_i) - \tfrac12\int_0^1 -\mathrm{SNR}'(t)E(t)\,dt \le "
                   r"\frac{\sup_{[0,1]}|\mathrm{SNR}'|\,(E(1)-E(0))}{2T}"),
        premises=(r"\mathrm{SNR}\ \text{decreasing},\ E(t) = \|x_0-\hat x_0(t)\|^2\ "
                  r"\text{increasing on } [0, 1]",
                  r"t_i = i/T,\ h = 1/T;\ \text{checked for } \mathrm{SNR} = \mathrm{SNR}(0)"
                  r"e^{-\gamma_1 t},\ E = e_0 + e_1t + e_2t^2"),
        cites=(cite(KVDM, "Eq. 15, §4.2"),),
        summary=("The T-step term never lies below its continuous limit and exceeds it by "
                 "at most C/T, with the explicit constant C = ½ sup|SNR′| (E(1) − E(0)): "
                 "the gap closes at rate 1/T."),
        parts=(lower_part(), interval_part(upper), sum_part(sum_target)),
        definitions={},
        induction_bases={n: 1},
    )


register(NAME)(build)
