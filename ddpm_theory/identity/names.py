"""The names a user may write in a one-line check, each mapped to the notation's symbol.

Every symbol is the one of :mod:`ddpm_theory.symbolic.notation`, with its declared domain
(β_t ∈ (0, 1], ᾱ_t ∈ (0, 1], x_t real, ...).  Three kinds of name:

* **quantities**: free symbols with a domain (``beta_t``, ``alphabar_tm1``, ``x_0``, ...);
* **definitions**: names that stand for an expression and are always written out
  (``SNR(t)``, ``SNR(t-1)``, ``mutilde_t``, the loss weights ``lambda_eps_t``, ...);
* **definable quantities**: free symbols that are written out only when asked for by
  name (``define=["betatilde_t"]``, ``--define betatilde_t``): β̃_t is a variance of
  its own unless the check is about its definition.

The engine always applies its textbook definitions β_t = 1 − α_t and ᾱ_t = ᾱ_{t−1} α_t
(the product ᾱ_t = ∏_{s ≤ t} α_s, one factor at a time).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import sympy as sp

from ..symbolic import notation as n

__all__ = [
    "QUANTITIES", "ALIASES", "DEFINED", "DEFINABLE", "SNR_T", "SNR_PREV",
    "UnknownSymbolError", "lookup", "close_names", "vocabulary",
]

#: SNR(t) = ᾱ_t/(1 − ᾱ_t) and SNR(t − 1) (Kingma et al. 2021, Eq. 1 with ᾱ as signal)
SNR_T = n.alpha_bar / (1 - n.alpha_bar)
SNR_PREV = n.alpha_bar_prev / (1 - n.alpha_bar_prev)

#: canonical name -> symbol (the notation's own names)
QUANTITIES: dict[str, sp.Symbol] = {
    s.name: s for s in (
        n.alpha, n.alpha_next, n.beta, n.beta_next, n.alpha_bar_prev, n.alpha_bar,
        n.beta_tilde, n.sigma2, n.x0, n.xt, n.xtm1, n.xtp1, n.eps, n.eps_theta, n.x0_hat,
        n.mu_theta, n.m1, n.m2, n.v1, n.v2, n.t, n.T, n.d,
    )
}

#: other spellings -> canonical name (ASCII, Unicode and the LaTeX-subscript forms)
ALIASES: dict[str, str] = {
    "alpha_bar_t": "alphabar_t", "abar_t": "alphabar_t", "ᾱ_t": "alphabar_t",
    "alpha_bar_tm1": "alphabar_tm1", "abar_tm1": "alphabar_tm1", "ᾱ_tm1": "alphabar_tm1",
    "alpha_t+1": "alpha_t1", "beta_t+1": "beta_t1", "α_t": "alpha_t", "β_t": "beta_t",
    "beta_tilde_t": "betatilde_t", "β̃_t": "betatilde_t", "sigma_t^2": "sigma2_t",
    "sigma2": "sigma2_t", "σ_t²": "sigma2_t", "eps": "epsilon", "ε": "epsilon",
    "eps_theta": "epsilon_theta", "ε_θ": "epsilon_theta", "x_t-1": "x_tm1",
    "x_t+1": "x_tp1", "x0": "x_0", "xt": "x_t", "x0_hat": "xhat_0", "mu_tilde_t": "mutilde_t",
    "μ̃_t": "mutilde_t", "snr_t": "SNR_t", "snr_tm1": "SNR_tm1",
}


def _mu_tilde() -> sp.Expr:
    """μ̃_t(x_t, x_0) (Ho et al. 2020, Eq. 7)."""
    ab, abp = n.alpha_bar, n.alpha_bar_prev
    return (sp.sqrt(abp) * n.beta / (1 - ab) * n.x0
            + sp.sqrt(n.alpha) * (1 - abp) / (1 - ab) * n.xt)


#: names that always stand for their definition
DEFINED: dict[str, tuple[sp.Expr, str]] = {
    "SNR_t": (SNR_T, "SNR(t) = ᾱ_t/(1 − ᾱ_t) (Kingma et al. 2021)"),
    "SNR_tm1": (SNR_PREV, "SNR(t−1) = ᾱ_{t−1}/(1 − ᾱ_{t−1})"),
    "mutilde_t": (_mu_tilde(), "μ̃_t = √ᾱ_{t−1}β_t/(1 − ᾱ_t) x_0 + √α_t(1 − ᾱ_{t−1})/(1 − ᾱ_t) "
                               "x_t (Ho et al. 2020, Eq. 7)"),
    "lambda_eps_t": (n.beta**2 / (2 * n.sigma2 * n.alpha * (1 - n.alpha_bar)),
                     "λ^ε_t = β_t²/(2σ_t²α_t(1 − ᾱ_t)) (Ho et al. 2020, Eq. 12)"),
    "lambda_x0_t": (n.alpha_bar_prev * n.beta**2 / (2 * n.sigma2 * (1 - n.alpha_bar) ** 2),
                    "λ^{x_0}_t = ᾱ_{t−1}β_t²/(2σ_t²(1 − ᾱ_t)²)"),
}

#: names written out only when asked for: name -> (definition, what it is)
DEFINABLE: dict[str, tuple[sp.Expr, str]] = {
    "betatilde_t": ((1 - n.alpha_bar_prev) / (1 - n.alpha_bar) * n.beta,
                    "β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t) β_t (Ho et al. 2020, Eq. 7)"),
    "sigma2_t": (n.beta_tilde, "σ_t² = β̃_t (Ho et al. 2020, §3.2, the lower choice)"),
}


class UnknownSymbolError(ValueError):
    """A name that is not in the notation; the message lists the close ones."""


def vocabulary() -> list[str]:
    """Every name a check accepts (canonical names, definitions, aliases)."""
    return sorted(set(QUANTITIES) | set(DEFINED) | set(ALIASES))


def close_names(name: str, k: int = 5) -> list[str]:
    """Names of the notation close to ``name`` (canonical ones first)."""
    canonical = sorted(set(QUANTITIES) | set(DEFINED))
    lowered = {c.lower(): c for c in vocabulary()}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=2 * k, cutoff=0.5)
    out = [ALIASES.get(lowered[h], lowered[h]) for h in hits]
    out += [c for c in canonical if name.lower() in c.lower() and len(name) >= 2]
    return list(dict.fromkeys(out))[:k]


@dataclass(frozen=True)
class Resolved:
    """What a name stands for: a symbol, or an expression by definition."""

    name: str
    value: sp.Expr
    defined: bool


def lookup(name: str) -> Resolved:
    """The notation's meaning of ``name``, or :class:`UnknownSymbolError`."""
    canon = ALIASES.get(name, name)
    if canon in QUANTITIES:
        return Resolved(canon, QUANTITIES[canon], False)
    if canon in DEFINED:
        return Resolved(canon, DEFINED[canon][0], True)
    close = close_names(name)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UnknownSymbolError(
        f"unknown symbol {name!r}: not in the notation{hint} "
        "(`ddpm-theory check --names` lists every name with its domain)"
    )
