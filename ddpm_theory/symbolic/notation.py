"""The notation of ddpm_theory, one symbol per quantity, with its declared domain.

Every symbol takes its SymPy assumptions from a :class:`~ddpm_theory.domains.Domain`
(declared once in :mod:`ddpm_theory.domains`); the engine draws the random points
of its 50-digit numeric check from the same domains.

* β_t (``beta``): forward noise variance at step t (Ho et al. 2020, Eq. 2);
* α_t = 1 − β_t (``alpha``): signal retention at step t;
* ᾱ_t = ∏_{s≤t} α_s (``alpha_bar``), ᾱ_{t−1} (``alpha_bar_prev``): cumulative retention;
* β̃_t (``beta_tilde``), μ̃_t (``mu_tilde``): posterior variance and mean
  (Ho et al. 2020, Eq. 7);
* σ_t² (``sigma2``): reverse-process variance (Ho et al. 2020, §3.2);
* SNR(t) = ᾱ_t / (1 − ᾱ_t) (``snr``) (Kingma et al. 2021).
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..domains import (
    ALPHA,
    ALPHA_BAR,
    BETA,
    DIMENSION,
    POSITIVE,
    REAL,
    TIMESTEP,
    UNIT_OPEN,
    VARIANCE,
    Domain,
)

#: symbol -> declared domain (filled by :func:`sym`)
DOMAIN_OF: dict[sp.Symbol, Domain] = {}
#: symbol -> LaTeX used in the rendered derivations
LATEX: dict[sp.Symbol, str] = {}


class DeclarationError(ValueError):
    """A symbol name declared twice with another domain or display name."""


#: symbol name -> (domain, LaTeX): each name is declared once, wherever it is used
DECLARED: dict[str, tuple[Domain, str | None, tuple]] = {}


def sym(name: str, domain: Domain, latex: str | None = None, **extra: Any) -> sp.Symbol:
    """A SymPy symbol whose assumptions come from ``domain``.

    A name is one quantity everywhere: declaring it again with the same domain and
    display name returns the same symbol; with another domain, display name or extra
    assumptions it raises :class:`DeclarationError` (two look-alike symbols of one name
    would otherwise be silently different quantities, or one would silently take the
    other's domain).
    """
    key = (domain, latex, tuple(sorted(extra.items())))
    if name in DECLARED and DECLARED[name] != key:
        old_dom, old_latex, old_extra = DECLARED[name]
        raise DeclarationError(
            f"symbol {name!r} is already declared with domain {old_dom.name} "
            f"{old_dom.interval_text()} and display {old_latex!r}{old_extra or ''}; "
            f"redeclared with {domain.name} {domain.interval_text()} and {latex!r}"
            f"{key[2] or ''}. Use another name for another quantity, or a derivation's "
            f"`domains` to narrow the domain inside one derivation."
        )
    DECLARED[name] = key
    s = sp.Symbol(name, **domain.sympy_assumptions(), **extra)
    DOMAIN_OF[s] = domain
    if latex is not None:
        LATEX[s] = latex
    return s


def domain_of(s: sp.Symbol) -> Domain:
    """The declared domain of ``s``; symbols created elsewhere default by assumption."""
    if s in DOMAIN_OF:
        return DOMAIN_OF[s]
    if s.is_integer:
        return TIMESTEP
    if s.is_positive:
        return POSITIVE
    return REAL


# -- the shared vocabulary ---------------------------------------------------------
# Per-step forward-process quantities.  α_t is the free parameter of a step;
# β_t := 1 − α_t, and ᾱ_t := ᾱ_{t−1} α_t are definitions (see DEFINITIONS).
alpha = sym("alpha_t", ALPHA, r"\alpha_t")
alpha_next = sym("alpha_t1", ALPHA, r"\alpha_{t+1}")
beta = sym("beta_t", BETA, r"\beta_t")
beta_next = sym("beta_t1", BETA, r"\beta_{t+1}")
# the same quantities at t = 1 (parts about the first step are written with index 1)
alpha_1 = sym("alpha_1", ALPHA, r"\alpha_1")
beta_1 = sym("beta_1", BETA, r"\beta_1")
alpha_bar_prev = sym("alphabar_tm1", UNIT_OPEN, r"\bar\alpha_{t-1}")
alpha_bar = sym("alphabar_t", ALPHA_BAR, r"\bar\alpha_t")
beta_tilde = sym("betatilde_t", VARIANCE, r"\tilde\beta_t")
sigma2 = sym("sigma2_t", VARIANCE, r"\sigma_t^2")

# random variables and data (any real value)
x0 = sym("x_0", REAL, r"x_0")
xt = sym("x_t", REAL, r"x_t")
xtm1 = sym("x_tm1", REAL, r"x_{t-1}")
xtp1 = sym("x_tp1", REAL, r"x_{t+1}")
eps = sym("epsilon", REAL, r"\epsilon")
eps_theta = sym("epsilon_theta", REAL, r"\epsilon_\theta")
x0_hat = sym("xhat_0", REAL, r"\hat x_0")
mu_theta = sym("mu_theta", REAL, r"\mu_\theta")

# generic Gaussian parameters
m1 = sym("m_1", REAL, r"m_1")
m2 = sym("m_2", REAL, r"m_2")
v1 = sym("v_1", VARIANCE, r"v_1")
v2 = sym("v_2", VARIANCE, r"v_2")

t = sym("t", TIMESTEP, "t")
T = sym("T", TIMESTEP, "T")
d = sym("d", DIMENSION, "d")

#: textbook definitions, applied before every check (defined symbol -> definition)
DEFINITIONS: dict[sp.Symbol, sp.Expr] = {
    beta: 1 - alpha,
    beta_next: 1 - alpha_next,
    beta_1: 1 - alpha_1,
    alpha_bar: alpha_bar_prev * alpha,
}

LATEX.update({sp.pi: r"\pi"})
