"""The bound of the strided (K < T) chain (Nichol & Dhariwal 2021, Sec. 4).

The kept steps 1 ≤ τ_1 < ... < τ_K = T with β'_i = 1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}} form a DDPM
chain with ᾱ'_i = ᾱ_{τ_i} (``respaced-chain-marginals``).  Its bound is therefore the
DDPM bound with the respaced coefficients: the posterior of the sub-chain (Ho et al.
2020, Eq. 7 with primes), its transition term in x_0-form, whose weights
½(SNR(τ_{i−1}) − SNR(τ_i)) telescope over the kept steps to ½(SNR(τ_1) − SNR(T)), and
its prior term, which is the T-step chain's L_T.
"""

from __future__ import annotations

import sympy as sp

from ...domains import ALPHA, POSITIVE, REAL, TIMESTEP, UNIT_OPEN
from ..certificates import Apply
from ..engine import Derivation, Part, Step
from ..expectation import GaussE
from ..notation import alpha, alpha_bar, alpha_bar_prev, beta, m1, m2, sym, v1, v2, x0, x0_hat, xt
from ..registry import register
from ._common import HO, cite, gaussian_logpdf
from .likelihood import BP3, RESPACED, abs3, beta_prime

NAME = "strided-chain-bound"
ND = "Nichol & Dhariwal 2021"
KVDM = "Kingma et al. 2021"

ab_p = sym("abar_tau_prev", UNIT_OPEN, r"\bar\alpha_{\tau_{i-1}}")
al_r = sym("alpha_resp", ALPHA, r"\alpha'_i")
ab_i = ab_p * al_r                          # ᾱ_{τ_i} = ᾱ_{τ_{i−1}} α'_i, α'_i ∈ (0, 1)
K = sym("K_kept", TIMESTEP, "K")
j = sp.Symbol("j", integer=True, positive=True)
SNR_TAU = sp.IndexedBase(sym("snr_tau", POSITIVE, r"\mathrm{SNR}_\tau"))
y = sym("y_strided", REAL, r"x_{\tau_K}")


def snr(ab: sp.Expr) -> sp.Expr:
    """SNR = ᾱ/(1 − ᾱ) (Kingma et al. 2021, Eq. 2 for a variance-preserving chain)."""
    return ab / (1 - ab)


def _respaced(e: sp.Expr) -> sp.Expr:
    """An expression of the DDPM chain at step t, written for the sub-chain's step i."""
    return e.xreplace({alpha_bar: ab_i, alpha_bar_prev: ab_p, beta: 1 - al_r, alpha: al_r})


def _posterior() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    from .. import registry

    post = registry.get("bayes-posterior").exports
    return tuple(_respaced(post[k]) for k in (
        "posterior_mean_coef_x0", "posterior_mean_coef_xt", "posterior_variance"))


def posterior_part(var_target: sp.Expr | None = None) -> Part:
    c0, ct, var = _posterior()
    bp = beta_prime(ab_i, ab_p)
    var_target = (1 - ab_p) * (ab_p - ab_i) / (ab_p * (1 - ab_i)) if var_target is None else (
        var_target)
    return Part(
        title="The sub-chain's posterior q(x_{τ_{i−1}} | x_{τ_i}, x_0)",
        lhs=r"(\text{coefficient of } x_0,\ \text{of } x_{\tau_i},\ \tilde\beta'_i)",
        start=sp.Tuple(c0, ct, var),
        start_rule=("the Bayes posterior (bayes-posterior's exports) of a DDPM chain with "
                    "β'_i, α'_i = 1 − β'_i and ᾱ'_i = ᾱ_{τ_i} (respaced-chain-marginals)"),
        cite=cite(ND, "Sec. 4"),
        steps=(
            Step(sp.Tuple(sp.sqrt(ab_p) * bp / (1 - ab_i),
                          sp.sqrt(ab_i / ab_p) * (1 - ab_p) / (1 - ab_i),
                          (1 - ab_p) * bp / (1 - ab_i)),
                 "β'_i = 1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}}, α'_i = ᾱ_{τ_i}/ᾱ_{τ_{i−1}}",
                 cite(ND, "Sec. 4")),
            Step(sp.Tuple((ab_p - ab_i) / (sp.sqrt(ab_p) * (1 - ab_i)),
                          sp.sqrt(ab_i / ab_p) * (1 - ab_p) / (1 - ab_i), var_target),
                 "common denominators: only ᾱ at the kept steps appears", cite(HO, "Eq. 7")),
        ),
    )


def transition_part(weight_target: sp.Expr | None = None) -> Part:
    from .. import registry

    c0, ct, var = _posterior()
    kl = registry.get("gaussian-kl").exports["kl_univariate"]
    mean_true, mean_model = c0 * x0 + ct * xt, c0 * x0_hat + ct * xt
    weight_target = (snr(ab_p) - snr(ab_i)) / 2 if weight_target is None else weight_target
    return Part(
        title="The K-step transition term in x_0-form",
        lhs=r"\mathrm{KL}\big(q(x_{\tau_{i-1}}|x_{\tau_i},x_0)\,\|\,p_\theta(x_{\tau_{i-1}}|"
            r"x_{\tau_i})\big)",
        start=kl.xreplace({m1: mean_true, v1: var, m2: mean_model, v2: var}),
        start_rule=("the Gaussian KL (gaussian-kl's export) with σ'^2_i = β̃'_i and the "
                    "model's mean μ̃'_i(x_{τ_i}, x̂_0): the posterior mean at x_0 = x̂_0"),
        cite=cite(ND, "Sec. 4"),
        steps=(
            Step(c0**2 * (x0 - x0_hat) ** 2 / (2 * var),
                 "equal variances: only (μ̃' − μ_θ)²/(2β̃') remains; the x_{τ_i} terms cancel",
                 cite(HO, "Eq. 8")),
            Step(ab_p * beta_prime(ab_i, ab_p) / (2 * (1 - ab_p) * (1 - ab_i))
                 * (x0 - x0_hat) ** 2,
                 "c_0'^2/β̃'_i = ᾱ_{τ_{i−1}}β'_i/((1 − ᾱ_{τ_{i−1}})(1 − ᾱ_{τ_i}))",
                 cite(ND, "Sec. 4")),
            Step(weight_target * (x0 - x0_hat) ** 2,
                 "ᾱ_{τ_{i−1}}β'_i = ᾱ_{τ_{i−1}} − ᾱ_{τ_i}: the weight is ½(SNR(τ_{i−1}) − "
                 "SNR(τ_i))", cite(KVDM, "Eq. 13")),
        ),
    )


def telescoping_part(target: sp.Expr | None = None) -> Part:
    target = (SNR_TAU[1] - SNR_TAU[K]) / 2 if target is None else target
    return Part(
        title="The K-step weights telescope to the ends",
        lhs=r"\sum_{i=2}^{K}\tfrac12\big(\mathrm{SNR}(\tau_{i-1})-\mathrm{SNR}(\tau_i)\big)",
        start=sp.Sum((SNR_TAU[j - 1] - SNR_TAU[j]) / 2, (j, 2, K)),
        start_rule="the x_0-weights of the transition terms i = 2..K (i = 1 is the decoder)",
        cite=cite(KVDM, "§4"),
        steps=(
            Step(sp.Sum(SNR_TAU[j - 1], (j, 2, K)) / 2 - sp.Sum(SNR_TAU[j], (j, 2, K)) / 2,
                 "split the sum", cite("standard", "linearity of sums")),
            Step(target, "the sums share all but their end terms: ½(SNR(τ_1) − SNR(τ_K)), "
                         "the same for every choice of the kept steps in between",
                 cite(KVDM, "§5.1")),
        ),
    )


def prior_part(target: sp.Expr | None = None) -> Part:
    from .. import registry

    a1, a2, aT = abs3
    ab_K = sp.Mul(*[1 - b for b in BP3])
    mean, var = sp.sqrt(ab_K) * x0, 1 - ab_K
    prior = registry.get("prior-term").exports["L_T_per_coordinate"]
    sym_ab, sym_x = sorted(prior.free_symbols, key=str)
    target = prior.xreplace({sym_ab: aT, sym_x: x0}) if target is None else target
    return Part(
        title="The prior term of the K-step chain is L_T (K = 3 kept steps)",
        lhs=r"\mathrm{KL}(q'(x_{\tau_K}|x_0)\,\|\,\mathcal{N}(0,1))",
        start=GaussE(gaussian_logpdf(y, mean, var) - gaussian_logpdf(y, 0, 1), y, mean, var),
        start_rule=("q'(x_{τ_3}|x_0) = N(√ᾱ'_3 x_0, 1 − ᾱ'_3) with ᾱ'_3 = ∏_{j≤3}(1 − β'_j) "
                    "and τ_3 = T, β'_j = 1 − ᾱ_{τ_j}/ᾱ_{τ_{j−1}}, ᾱ_{τ_0} = 1"),
        cite=cite(ND, "Sec. 4"),
        steps=(
            Step((ab_K * x0**2 + (1 - ab_K) - 1 - sp.log(1 - ab_K)) / 2,
                 "Gaussian moments: ½(ᾱ'_3x_0² + (1 − ᾱ'_3) − 1 − log(1 − ᾱ'_3))",
                 cite("standard", "moments of a Gaussian")),
            Step((aT * x0**2 + (1 - aT) - 1 - sp.log(1 - aT)) / 2,
                 "ᾱ'_3 = ᾱ_{τ_3} (respaced-chain-marginals)", cite(ND, "Sec. 4"),
                 certificate=Apply(RESPACED, 0)),
            Step(target, "the T-step chain's L_T per coordinate (prior-term's export): the "
                         "K-step bound has the same prior term", cite(HO, "§3.1")),
        ),
    )


def build(var_target: sp.Expr | None = None, weight_target: sp.Expr | None = None,
          telescoping_target: sp.Expr | None = None,
          prior_target: sp.Expr | None = None) -> Derivation:
    return Derivation(
        name=NAME,
        title="The bound of the strided K-step chain",
        statement=(r"L^{(K)} = L_T + \sum_{i=2}^{K}\tfrac12\big(\mathrm{SNR}(\tau_{i-1}) - "
                   r"\mathrm{SNR}(\tau_i)\big)\|x_0 - \hat x_0\|^2 + L_0,\quad \tilde\beta'_i "
                   r"= \frac{1-\bar\alpha_{\tau_{i-1}}}{1-\bar\alpha_{\tau_i}}\Big(1 - "
                   r"\frac{\bar\alpha_{\tau_i}}{\bar\alpha_{\tau_{i-1}}}\Big)"),
        premises=(r"\beta'_i = 1 - \bar\alpha_{\tau_i}/\bar\alpha_{\tau_{i-1}},\ \tau_K = T",
                  r"\sigma'^2_i = \tilde\beta'_i,\ \mu_\theta = \tilde\mu'_i(x_{\tau_i}, "
                  r"\hat x_0)"),
        cites=(cite(ND, "Sec. 4"), cite(HO, "Eqs. 5, 7")),
        summary=("The strided chain is a DDPM chain in its own right: its posterior, "
                 "x_0-weights and prior term are the DDPM ones at the kept steps, and with "
                 "an error that does not depend on t its weights sum to the same "
                 "½(SNR(τ_1) − SNR(T)) whatever steps are kept."),
        parts=(posterior_part(var_target), transition_part(weight_target),
               telescoping_part(telescoping_target), prior_part(prior_target)),
        definitions={BP3[0]: beta_prime(abs3[0], 1), BP3[1]: beta_prime(abs3[1], abs3[0]),
                     BP3[2]: beta_prime(abs3[2], abs3[1])},
        domains={**{a: UNIT_OPEN for a in abs3}, K: TIMESTEP},
    )


register(NAME)(build)
