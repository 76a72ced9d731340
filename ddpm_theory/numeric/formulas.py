"""Float64 closed forms: generated from the symbolic derivations, and fast versions.

Each derivation in :mod:`ddpm_theory.symbolic.registry` exports the closed forms it
establishes (``Derivation.exports``: name -> SymPy expression).  :func:`generated`
turns every export into a float64 NumPy function with ``sympy.lambdify``, so each
formula is *written once*, in the derivation.  The hand-written functions of
:mod:`~ddpm_theory.numeric.closed_forms` (re-exported here)
(``q_mean_coef``, ``posterior_variance``, ...) are the vectorised versions the
rest of the library calls; ``tests/numeric`` checks each against its generated
twin to rtol 1e-12 over Hypothesis-explored schedules (docs/verification.md tier S1),
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
* L_T per coordinate = KL(N(sqrt(alpha_bar_T) x_0, 1 - alpha_bar_T) || N(0, 1))  (Eq. 5)
* decoder bins: Phi((d+ - mu)/sigma_1) - Phi((d- - mu)/sigma_1), edges to +-inf  (Eq. 13)
* L_{t-1} = ||mu_tilde - mu_theta||^2 / (2 sigma_t^2) + C_t                    (Eq. 8)
* loss weights of the eps-, x_0- and v-parameterisations (Eq. 12; Salimans & Ho 2022),
  and their SNR forms at sigma_t^2 = beta_tilde_t (Kingma et al. 2021)

:func:`schedule_quantities` derives alpha, alpha_bar, alpha_bar_prev from a beta
schedule; ``alpha_bar_prev`` at t = 1 is the empty product 1, where beta_tilde_1 = 0.

Conditioning.  The exported forms take alpha_bar as argument and form 1 - alpha_bar
inside, which costs a relative error of eps / (1 - alpha_bar_t): negligible for the
usual schedules (beta_1 >= 1e-4: < 3e-12) but 1e-7 at beta ~ 1e-9.  Checks on such
schedules state that bound (``ScheduleQuantities.one_minus_alpha_bar`` is accurate).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ddpm_theory.numeric import closed_forms
from ddpm_theory.numeric.closed_forms import (
    alpha_bar_of_gamma,
    best_eps_error_gaussian_data,
    bin_probability,
    consistency_mutual_information,
    highest_bin_probability,
    kl_univariate,
    loss_weight_eps,
    loss_weight_eps_snr,
    loss_weight_v,
    loss_weight_v_snr,
    loss_weight_x0,
    loss_weight_x0_snr,
    lowest_bin_probability,
    mean_matching_weight,
    optimal_sigma2_gaussian_data,
    posterior_mean_coef_x0,
    posterior_mean_coef_xt,
    posterior_mean_eps_coef_eps,
    posterior_mean_eps_coef_xt,
    posterior_variance,
    prior_term_per_coordinate,
    q_mean_coef,
    q_variance,
    snr,
    variance_mismatch_constant,
)

__all__ = [
    "CODE_NAME",
    "FAST",
    "Formula",
    "ScheduleQuantities",
    "generated",
    "schedule_quantities",
    *closed_forms.__all__,
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
    "alphabar_T": "alpha_bar_T",
    "x_end": "x0",
    "mu_dec": "decoder_mean",
    "sigma_1": "decoder_std",
    "delta_minus": "bin_lo",
    "delta_plus": "bin_hi",
    "sigma2_t": "sigma2",
    "betatilde_t": "beta_tilde",
    "d": "dim",
    "s2_data": "data_var",
    "abar_tw": "alpha_bar",
    "s2_tw": "data_var",
    "a_t1": "a_next",
    "b_t": "b",
    "b_t1": "b_next",
    "gamma": "gamma",
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
            # A symbol without a code name keeps its SymPy name, so one new derivation
            # cannot break the others; tests/numeric flags it (CODE_NAME completeness).
            params = tuple(CODE_NAME.get(s.name, s.name) for s in symbols)
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
    one_minus_alpha_bar: np.ndarray
    """1 - alpha_bar_t to a few ulp *relative*, as -expm1(sum log1p(-beta)); ``1 - alpha_bar``
    formed from the float alpha_bar has relative error up to eps / (1 - alpha_bar_t),
    e.g. 1e-7 at beta = 1e-9 -- every formula parameterised by alpha_bar inherits it."""

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
    with np.errstate(divide="ignore"):  # beta = 1 gives log1p(-1) = -inf, expm1 -> -1: exact
        omab = -np.expm1(np.cumsum(np.log1p(-b)))
    return ScheduleQuantities(b, a, ab, np.concatenate([[1.0], ab[:-1]]), omab)


FAST: dict[str, Callable[..., np.ndarray]] = {
    "alpha_bar_of_gamma": alpha_bar_of_gamma,
    "best_eps_error_gaussian_data": best_eps_error_gaussian_data,
    "consistency_mutual_information": consistency_mutual_information,
    "optimal_sigma2_gaussian_data": optimal_sigma2_gaussian_data,
    "snr": snr,
    "simple_x0_weight": snr,
    "lambda_eps": loss_weight_eps,
    "lambda_x0": loss_weight_x0,
    "lambda_v": loss_weight_v,
    "lambda_eps_snr": loss_weight_eps_snr,
    "lambda_x0_snr": loss_weight_x0_snr,
    "lambda_v_snr": loss_weight_v_snr,
    "L_T_per_coordinate": prior_term_per_coordinate,
    "bin_probability": bin_probability,
    "lowest_bin_probability": lowest_bin_probability,
    "highest_bin_probability": highest_bin_probability,
    "mean_matching_weight": mean_matching_weight,
    "C_t": variance_mismatch_constant,
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
