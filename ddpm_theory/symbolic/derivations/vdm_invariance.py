"""The continuous-time loss depends on the schedule only through SNR at its ends
(Kingma et al. 2021, §5.1).

Two facts make it so.  (i) At a given SNR v the rescaled latent z_t/α_t = x + ε/√v has
one law whatever α_t, σ_t are (variance-preserving or not), so the best denoiser -- and
the error ‖x − x̂_0‖² -- is a function of v alone.  (ii) With the error a function of
v = SNR(t), the change of variables v = SNR(t) turns −½∫_0^1 SNR′(t) E(SNR(t)) dt into
½∫_{SNR(1)}^{SNR(0)} E(v) dv.  The engine checks (ii) for a whole one-parameter family of
paths SNR_λ(t) = S_1 + Δ(1 − t)(1 + λt), λ ∈ (0, 1), decreasing from SNR(0) = S_1 + Δ to
SNR(1) = S_1: the value is the same closed form in SNR(0), SNR(1) for every λ.
"""

from __future__ import annotations

import sympy as sp

from ...domains import POSITIVE, REAL, UNIT_OPEN
from ..engine import Derivation, Part, Step
from ..expectation import GaussE
from ..notation import eps, sym
from ..registry import register
from ._common import cite
from .continuous import error_profile, t, v

NAME = "vdm-snr-invariance"
KVDM = "Kingma et al. 2021"

x = sym("x_vdm", REAL, r"x")
alpha_v = sym("alpha_vdm", POSITIVE, r"\alpha_t")
snr_v = sym("snr_vdm", POSITIVE, r"v")
lam = sym("lambda_path", UNIT_OPEN, r"\lambda")
s_end = sym("snr1_path", POSITIVE, r"S_1")
delta = sym("delta_path", POSITIVE, r"\Delta")


def snr_path(u: sp.Expr) -> sp.Expr:
    """SNR_λ(u) = S_1 + Δ(1 − u)(1 + λu): decreasing on [0, 1] for λ ∈ (0, 1)
    (SNR′ = −Δ(1 − λ + 2λu) < 0), from S_1 + Δ to S_1 for every λ."""
    return s_end + delta * (1 - u) * (1 + lam * u)


def rescaled_part(var_target: sp.Expr | None = None) -> Part:
    sigma_v = alpha_v / sp.sqrt(snr_v)          # σ_t with α_t²/σ_t² = v
    z = alpha_v * x + sigma_v * eps
    var_target = 1 / snr_v if var_target is None else var_target
    return Part(
        title="At a given SNR the rescaled latent has one law, whatever the schedule",
        lhs=r"(\mathbb{E}[z_t/\alpha_t\mid x],\ \mathrm{Var}[z_t/\alpha_t\mid x])",
        start=sp.Tuple(GaussE(z / alpha_v, eps, 0, 1), GaussE((z / alpha_v - x) ** 2, eps, 0, 1)),
        start_rule=("z_t = α_t x + σ_t ε (Kingma et al. 2021, Eq. 1) for any α_t > 0, with σ_t "
                    "fixed by SNR(t) = α_t²/σ_t² = v"),
        cite=cite(KVDM, "Eq. 1"),
        steps=(
            Step(sp.Tuple(x, (alpha_v / sp.sqrt(snr_v)) ** 2 / alpha_v**2),
                 "E[ε] = 0, E[ε²] = 1: mean x, variance σ_t²/α_t²",
                 cite("standard", "moments of a Gaussian")),
            Step(sp.Tuple(x, var_target), "σ_t²/α_t² = 1/v: α_t drops out, so z_t/α_t ~ "
                 "N(x, 1/v) and the best x̂_0 depends on v alone", cite(KVDM, "§5.1")),
        ),
    )


def change_of_variables_part(closed: sp.Expr | None = None) -> Part:
    snr_t = snr_path(t)
    hi, lo = s_end + delta, s_end                # SNR(0), SNR(1): the same for every λ
    anti = sp.integrate(error_profile(v), v)
    closed = (anti.subs(v, hi) - anti.subs(v, lo)) / 2 if closed is None else closed
    return Part(
        title="Change of variables v = SNR(t) for a whole family of paths",
        lhs=r"-\tfrac12\int_0^1\mathrm{SNR}_\lambda'(t)\,E(\mathrm{SNR}_\lambda(t))\,dt",
        start=sp.Integral(-sp.diff(snr_t, t) * error_profile(snr_t) / 2, (t, 0, 1)),
        start_rule=("the continuous-time loss (Eq. 15) along the path SNR_λ(t) = "
                    "S_1 + Δ(1 − t)(1 + λt), with the error a function of v = SNR(t) "
                    "(previous part); E(v) = c_0 + c_1 v + c_2 v² stands in for it"),
        cite=cite(KVDM, "Eq. 15"),
        steps=(
            Step(sp.Integral(error_profile(v) / 2, (v, lo, hi)),
                 "v = SNR_λ(t), dv = SNR_λ′(t) dt; t = 0 ↦ SNR(0), t = 1 ↦ SNR(1), the "
                 "bounds swap with the sign", cite(KVDM, "§5.1")),
            Step(closed, "integrate: a function of SNR(0) = S_1 + Δ and SNR(1) = S_1 "
                         "alone; λ, the shape of the path, is gone",
                 cite(KVDM, "§5.1")),
        ),
    )


def build(var_target: sp.Expr | None = None, closed: sp.Expr | None = None) -> Derivation:
    return Derivation(
        name=NAME,
        title="VDM: the continuous-time loss depends on the schedule only through its ends",
        statement=(r"-\tfrac12\int_0^1\mathrm{SNR}'(t)\,\|x-\hat x_\theta(z_t;t)\|^2dt = "
                   r"\tfrac12\int_{\mathrm{SNR}(1)}^{\mathrm{SNR}(0)}\|x-\tilde x_\theta"
                   r"(z_v, v)\|^2dv,\quad z_v/\alpha_v \sim \mathcal{N}(x, 1/v)"),
        premises=(r"z_t = \alpha_t x + \sigma_t\epsilon,\ \mathrm{SNR}(t) = \alpha_t^2/"
                  r"\sigma_t^2\ \text{monotone}",
                  r"\text{checked on } \mathrm{SNR}_\lambda(t) = S_1 + \Delta(1-t)(1+"
                  r"\lambda t),\ \lambda\in(0,1)"),
        cites=(cite(KVDM, "§5.1, Eq. 15"),),
        summary=("Only SNR(0) and SNR(1) enter the continuous-time loss: the schedule in "
                 "between changes how the integral is sampled, not its value."),
        parts=(rescaled_part(var_target), change_of_variables_part(closed)),
        definitions={},
    )


register(NAME)(build)
