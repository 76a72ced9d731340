"""Float64 closed forms: generated from the symbolic derivations, and fast versions.

Each derivation in :mod:`ddpm_theory.symbolic.registry` exports the closed forms it
establishes (``Derivation.exports``: name -> SymPy expression).  :func:`generated`
turns every export into a float64 NumPy function with ``sympy.lambdify``, so each
formula is *written once*, in the derivation.  The hand-written functions below
(``q_mean_coef``, ``posterior_variance``, ...) are the vectorised versions the
rest of the library calls; ``tests/numeric`` checks each against its generated
twin to rtol 1e-12 over Hypothesis-explored schedules (VERIFICATION.md tier S1),
and :data:`FAST` pairs them up so that the test enumerates every export.

Arguments use the code names of the notation table
(:mod:`ddpm_theory.symbolic.notation`): SymPy symbol names such as
``alphabar_tm1`` are converted once, in :data:`CODE_NAME`.

Formulas (Ho et al. 2020):

* q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)            (Eq. 4)
* mu_tilde_t = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) x_0
             + sqrt(alpha_t) (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) x_t  (Eq. 7)
* beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t          (Eq. 7)
* mu_tilde_t = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t)  (Eq. 10, with
  x_0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t))
* KL of univariate Gaussians: :func:`ddpm_theory.numeric.gaussian.kl_normal`.

:func:`schedule_quantities` derives alpha, alpha_bar, alpha_bar_prev from a beta
schedule; ``alpha_bar_prev`` at t = 1 is the empty product 1, where beta_tilde_1 = 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ddpm_theory.numeric.gaussian import kl_normal

__all__ = [
    "CODE_NAME",
    "FAST",
    "Formula",
    "ScheduleQuantities",
    "generated",
    "schedule_quantities",
    "q_mean_coef",
    "q_variance",
    "posterior_mean_coef_x0",
    "posterior_mean_coef_xt",
    "posterior_variance",
    "posterior_mean_eps_coef_xt",
    "posterior_mean_eps_coef_eps",
    "kl_univariate",
]

CODE_NAME: dict[str, str] = {
    "alpha_t": "alpha",
    "beta_t": "beta",
    "alphabar_t": "alpha_bar",
    "alphabar_tm1": "alpha_bar_prev",
    "m_1": "mean1",
    "v_1": "var1",
    "m_2": "mean2",
    "v_2": "var2",
}
"""SymPy symbol name -> argument name of the numeric functions (the notation table)."""


@dataclass(frozen=True)
class Formula:
    """A closed form generated from a registered derivation.

    ``params`` are code names (sorted); call with keyword arguments of those names.
    """

    derivation: str
    name: str
    expr: Any  # sympy.Expr
    params: tuple[str, ...]
    func: Callable[..., Any]

    def __call__(self, **kwargs: ArrayLike) -> np.ndarray:
        missing = set(self.params) - set(kwargs)
        extra = set(kwargs) - set(self.params)
        if missing or extra:
            raise TypeError(f"{self.name} takes {self.params}; missing {missing}, extra {extra}")
        args = [np.asarray(kwargs[p], dtype=np.float64) for p in self.params]
        return np.asarray(self.func(*args), dtype=np.float64)


@cache
def _generated() -> dict[str, Formula]:
    import sympy as sp

    from ddpm_theory.symbolic import registry

    out: dict[str, Formula] = {}
    for name in registry.names():
        derivation = registry.get(name)
        for export, expr in derivation.exports.items():
            if export in out:
                raise ValueError(f"export {export!r} is claimed by {out[export].derivation} "
                                 f"and {name}")
            symbols = sorted(expr.free_symbols, key=lambda s: CODE_NAME.get(s.name, s.name))
            unknown = [s.name for s in symbols if s.name not in CODE_NAME]
            if unknown:
                raise KeyError(f"{name}.{export}: no code name for symbols {unknown}; "
                               "add them to CODE_NAME")
            params = tuple(CODE_NAME[s.name] for s in symbols)
            func = sp.lambdify(symbols, expr, modules="numpy")
            out[export] = Formula(name, export, expr, params, func)
    return out


def generated() -> Mapping[str, Formula]:
    """Every export of every registered derivation, lambdified (built once, cached)."""
    return dict(_generated())


# ---------------------------------------------------------------------------
# Schedules


@dataclass(frozen=True)
class ScheduleQuantities:
    """Per-step quantities of a beta schedule; every field has shape (T,), index t - 1."""

    beta: np.ndarray
    alpha: np.ndarray
    alpha_bar: np.ndarray
    alpha_bar_prev: np.ndarray

    def at(self, t: int) -> dict[str, float]:
        """The scalars at step t (1-based) keyed by code name."""
        if not 1 <= t <= self.beta.size:
            raise ValueError(f"t must lie in 1..{self.beta.size}; got {t}")
        return {k: float(getattr(self, k)[t - 1])
                for k in ("beta", "alpha", "alpha_bar", "alpha_bar_prev")}


def schedule_quantities(betas: ArrayLike) -> ScheduleQuantities:
    """alpha_t = 1 - beta_t, alpha_bar_t = prod_{s<=t} alpha_s (Ho et al. 2020, section 2)."""
    b = np.asarray(betas, dtype=np.float64)
    if b.ndim != 1 or b.size == 0:
        raise ValueError(f"betas must have shape (T,); got {b.shape}")
    if not np.all((b > 0.0) & (b <= 1.0)):
        raise ValueError("betas must lie in (0, 1]")
    a = 1.0 - b
    ab = np.cumprod(a)
    return ScheduleQuantities(b, a, ab, np.concatenate([[1.0], ab[:-1]]))


# ---------------------------------------------------------------------------
# Hand-written vectorised versions (checked against the generated ones)


def q_mean_coef(alpha_bar: ArrayLike) -> np.ndarray:
    """Coefficient of x_0 in the mean of q(x_t | x_0) (Ho et al. 2020, Eq. 4)."""
    return np.sqrt(np.asarray(alpha_bar, dtype=np.float64))


def q_variance(alpha_bar: ArrayLike) -> np.ndarray:
    """Variance of q(x_t | x_0) (Ho et al. 2020, Eq. 4)."""
    return 1.0 - np.asarray(alpha_bar, dtype=np.float64)


def posterior_mean_coef_x0(beta: ArrayLike, alpha_bar: ArrayLike,
                           alpha_bar_prev: ArrayLike) -> np.ndarray:
    """Coefficient of x_0 in mu_tilde_t (Ho et al. 2020, Eq. 7)."""
    ab = np.asarray(alpha_bar, dtype=np.float64)
    return np.sqrt(alpha_bar_prev) * np.asarray(beta, dtype=np.float64) / (1.0 - ab)


def posterior_mean_coef_xt(alpha: ArrayLike, alpha_bar: ArrayLike,
                           alpha_bar_prev: ArrayLike) -> np.ndarray:
    """Coefficient of x_t in mu_tilde_t (Ho et al. 2020, Eq. 7)."""
    abp = np.asarray(alpha_bar_prev, dtype=np.float64)
    return np.sqrt(alpha) * (1.0 - abp) / (1.0 - np.asarray(alpha_bar, dtype=np.float64))


def posterior_variance(beta: ArrayLike, alpha_bar: ArrayLike,
                       alpha_bar_prev: ArrayLike) -> np.ndarray:
    """beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t (Ho et al. 2020, Eq. 7)."""
    abp = np.asarray(alpha_bar_prev, dtype=np.float64)
    ab = np.asarray(alpha_bar, dtype=np.float64)
    return (1.0 - abp) / (1.0 - ab) * np.asarray(beta, dtype=np.float64)


def posterior_mean_eps_coef_xt(alpha: ArrayLike) -> np.ndarray:
    """Coefficient of x_t in the eps-form of mu_tilde_t (Ho et al. 2020, Eq. 10)."""
    return 1.0 / np.sqrt(np.asarray(alpha, dtype=np.float64))


def posterior_mean_eps_coef_eps(alpha: ArrayLike, beta: ArrayLike,
                                alpha_bar: ArrayLike) -> np.ndarray:
    """Coefficient of eps in the eps-form of mu_tilde_t (Ho et al. 2020, Eq. 10)."""
    a = np.asarray(alpha, dtype=np.float64)
    ab = np.asarray(alpha_bar, dtype=np.float64)
    return -np.asarray(beta, dtype=np.float64) / (np.sqrt(1.0 - ab) * np.sqrt(a))


def kl_univariate(mean1: ArrayLike, var1: ArrayLike, mean2: ArrayLike,
                  var2: ArrayLike) -> np.ndarray:
    """KL(N(mean1, var1) || N(mean2, var2)) in nats (alias of ``gaussian.kl_normal``)."""
    return kl_normal(mean1, var1, mean2, var2)


FAST: dict[str, Callable[..., np.ndarray]] = {
    "q_mean_coef": q_mean_coef,
    "q_variance": q_variance,
    "posterior_mean_coef_x0": posterior_mean_coef_x0,
    "posterior_mean_coef_xt": posterior_mean_coef_xt,
    "posterior_variance": posterior_variance,
    "posterior_mean_eps_coef_xt": posterior_mean_eps_coef_xt,
    "posterior_mean_eps_coef_eps": posterior_mean_eps_coef_eps,
    "kl_univariate": kl_univariate,
}
"""Export name -> hand-written version; keyword arguments match ``Formula.params``."""
