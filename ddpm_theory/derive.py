"""Everything needed to write a derivation, importable from one place.

>>> from ddpm_theory.derive import Derivation, Part, Step, Relation, cite, beta, alpha

* the engine: :class:`Derivation`, :class:`Part`, :class:`Step`, :class:`Relation`,
  :class:`Premise`, :class:`Citation` (and :func:`cite`), :func:`chain`, :class:`Status`;
* certificates of inequalities: :class:`LogGap` (the lemma ``log-inequality``),
  :class:`TangentLine`; Gaussian expectations written as a step: :class:`GaussE`;
* the notation's symbols, each with its declared domain (``alpha``, ``beta``,
  ``alpha_bar``, ``alpha_bar_prev``, ``beta_tilde``, ``sigma2``, ``x0``, ``xt``, ``eps``,
  ``t``, ``T``, ...), :func:`sym` to declare a symbol of your own with a domain, and the
  domains themselves (:data:`REAL`, :data:`POSITIVE`, :data:`UNIT_OPEN`, :data:`VARIANCE`,
  :data:`BETA`, ...);
* :func:`check`: one identity in one line; :func:`verify`: check a derivation and raise
  with the failing step's counterexample when it does not reach its expected verdict.
"""

from __future__ import annotations

from .domains import (
    ALPHA,
    ALPHA_BAR,
    BETA,
    DIMENSION,
    POSITIVE,
    REAL,
    TIMESTEP,
    UNIT_LEFT_OPEN,
    UNIT_OPEN,
    VARIANCE,
    Domain,
)
from .identity import check
from .symbolic.certificates import LogGap, TangentLine
from .symbolic.citation import Citation
from .symbolic.engine import (
    Derivation,
    DerivationResult,
    Part,
    Premise,
    Relation,
    Status,
    Step,
    chain,
)
from .symbolic.expectation import GaussE
from .symbolic.notation import (
    DEFINITIONS,
    alpha,
    alpha_bar,
    alpha_bar_prev,
    alpha_next,
    beta,
    beta_next,
    beta_tilde,
    d,
    domain_of,
    eps,
    eps_theta,
    m1,
    m2,
    mu_theta,
    sigma2,
    sym,
    t,
    v1,
    v2,
    x0,
    x0_hat,
    xt,
    xtm1,
    xtp1,
)
from .symbolic.notation import T as T

__all__ = [
    "ALPHA", "ALPHA_BAR", "BETA", "DEFINITIONS", "DIMENSION", "POSITIVE", "REAL", "TIMESTEP",
    "UNIT_LEFT_OPEN", "UNIT_OPEN", "VARIANCE", "Citation", "Derivation", "DerivationResult",
    "Domain", "GaussE", "LogGap", "Part", "Premise", "Relation", "Status", "Step", "T",
    "TangentLine", "alpha", "alpha_bar", "alpha_bar_prev", "alpha_next", "beta", "beta_next",
    "beta_tilde", "chain", "check", "cite", "d", "domain_of", "eps", "eps_theta", "m1", "m2",
    "mu_theta", "sigma2", "sym", "t", "v1", "v2", "verify", "x0", "x0_hat", "xt", "xtm1",
    "xtp1",
]


def cite(source: str, where: str = "") -> Citation:
    """A citation as data: ``cite("Ho et al. 2020", "Eq. 7")``."""
    return Citation(source, where)


def verify(derivation: Derivation, seed: int = 0) -> DerivationResult:
    """Check every step of ``derivation``; raise :class:`AssertionError` naming the failing
    step, its rule and its counterexample unless it reaches its expected verdict."""
    from .testing import assert_derivation

    return assert_derivation(derivation, seed=seed)
