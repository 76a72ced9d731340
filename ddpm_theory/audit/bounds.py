"""Analytic bounds reported beside the ELBO terms.

Every function here is float64 numpy and implements one derived formula; the
tests compare each with the SymPy exports of :mod:`ddpm_theory.symbolic` and
with mpmath at 50 digits (docs/verification.md, tier S1).

Index convention of this module: arrays over the transitions L_{t−1} have
length T − 1 and **index j holds paper timestep t = j + 2** (t = 2..T).

==========  ===================================  =======================================
symbol      code                                 formula
==========  ===================================  =======================================
L_T         :func:`prior_kl_closed_form`         ½(ᾱ_T‖x_0‖² − Dᾱ_T − D log(1 − ᾱ_T))
σ_t²        :func:`reverse_variance`             β_t or β̃_t (β̃_2 at t = 1 for β̃)
C_t         :func:`variance_mismatch`            (D/2)(r − 1 − log r), r = β̃_t/σ_t²
λ_t         :func:`eps_weight`                   β_t²/(2σ_t² α_t (1 − ᾱ_t))
==========  ===================================  =======================================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..backend.dataset import Dataset
from ..backend.enums import DecoderType, Parameterization, VarianceType
from ..backend.mixture import GaussianMixture
from ..backend.process import GaussianDiffusion
from ..backend.schedule import Schedule

__all__ = [
    "prior_kl_closed_form",
    "reverse_variance",
    "x_minus_log1p",
    "variance_mismatch",
    "eps_weight",
    "lambda_sigma2",
    "gaussian_posterior_trace",
    "gaussian_bayes_terms",
    "bayes_optimal_model",
    "entropy_floor",
    "gaussian_law",
]

_LOG_2PI = math.log(2.0 * math.pi)


def prior_kl_closed_form(x0_sqnorm: np.ndarray, D: int, schedule: Schedule) -> np.ndarray:
    """L_T = KL(q(x_T|x_0) ‖ N(0, I)) = ½(ᾱ_T‖x_0‖² − Dᾱ_T − D log(1 − ᾱ_T)) nats
    (Ho et al. 2020, Eq. 5, with q(x_T|x_0) from Eq. 4 and the Gaussian KL of
    Kingma & Welling 2014, Appendix B).

    Evaluated as ½ᾱ_T‖x_0‖² + (D/2)(u − log1p(u)), u = −ᾱ_T: both parts are
    non-negative, so the ᾱ_T²/4 left after −ᾱ_T − log(1 − ᾱ_T) cancels is kept to
    full relative precision (ᾱ_T ≈ 4e-5 for the paper's schedule).

    Parameters
    ----------
    x0_sqnorm
        ‖x_0‖² per example, shape ``(B,)``.
    D
        Data dimension.
    schedule
        Supplies ᾱ_T (and 1 − ᾱ_T, computed without cancellation, when ᾱ_T ≥ ½).
    """
    ab = float(schedule.alpha_bar[-1])
    if ab < 0.5:
        const = float(x_minus_log1p(np.array(-ab)))
    else:
        const = -ab - math.log(float(schedule.one_minus_alpha_bar[-1]))
    x = np.asarray(x0_sqnorm, dtype=np.float64)
    return 0.5 * ab * x + 0.5 * D * const


def reverse_variance(schedule: Schedule, variance: VarianceType | str) -> np.ndarray:
    """σ_t² for a fixed variance choice, shape ``(T,)``, index i ↔ t = i + 1: β_t
    or β̃_t (Ho et al. 2020, Sec. 3.2), with β̃_1 := β̃_2 (the released code's
    clipping, see :class:`~ddpm_theory.backend.enums.VarianceType`).

    Raises
    ------
    ValueError
        For a learned variance (σ_t² then depends on x_t).
    """
    v = VarianceType.parse(variance)
    if v is VarianceType.BETA:
        return np.array(schedule.betas)
    if v is VarianceType.BETA_RELEASED:  # σ_1² = β̃_2, as in the released code
        b = np.array(schedule.betas)
        b[0] = schedule.beta_tilde[1]
        return b
    if v is VarianceType.BETA_TILDE:
        bt = np.array(schedule.beta_tilde)
        bt[0] = bt[1]
        return bt
    raise ValueError(f"variance {v.value!r} is learned: sigma_t^2 depends on x_t.")


def x_minus_log1p(u: np.ndarray) -> np.ndarray:
    """u − log(1 + u) for u > −1 without cancellation: the alternating series
    Σ_{k≥2} (−u)^k/k for |u| < ½ (60 terms: ½^60/60 < 1e-19), else direct."""
    u = np.asarray(u, dtype=np.float64)
    small = np.abs(u) < 0.5
    us = np.where(small, u, 0.0)
    series = np.zeros_like(us)
    for k in range(61, 1, -1):  # Horner: Σ_{k=2}^{61} (−1)^k u^k / k
        series = series * us + (1.0 if k % 2 == 0 else -1.0) / k
    series = series * us * us
    with np.errstate(invalid="ignore", divide="ignore"):
        direct = u - np.log1p(u)
    return np.where(small, series, direct)


def variance_mismatch(schedule: Schedule, variance: VarianceType | str, D: int) -> np.ndarray:
    """C_t = KL(N(μ, β̃_t I) ‖ N(μ, σ_t² I)) = (D/2)(r − 1 − log r), r = β̃_t/σ_t²,
    for t = 2..T, shape ``(T − 1,)`` (Ho et al. 2020, Eq. 8: the constant C of
    L_{t−1}; the Gaussian KL with equal means).

    The floor of L_{t−1}: L_{t−1} = E‖μ̃_t − μ_θ‖²/(2σ_t²) + C_t ≥ C_t. Computed as
    (D/2)(u − log1p(u)) with u = r − 1 formed without subtraction: u = 0 for
    σ_t² = β̃_t and u = −β_t ᾱ_{t−1}/(1 − ᾱ_t) for σ_t² = β_t (since
    1 − ᾱ_{t−1} − (1 − ᾱ_t) = ᾱ_{t−1}β_t).
    """
    v = VarianceType.parse(variance)
    s = schedule
    if v is VarianceType.BETA_TILDE:
        u = np.zeros(s.T - 1)
    elif v in (VarianceType.BETA, VarianceType.BETA_RELEASED):  # equal for t >= 2
        u = -s.betas[1:] * s.alpha_bar_prev[1:] / s.one_minus_alpha_bar[1:]
    else:
        raise ValueError(f"variance {v.value!r} is learned: C_t depends on x_t.")
    return 0.5 * D * x_minus_log1p(u)


def lambda_sigma2(schedule: Schedule) -> np.ndarray:
    """λ_t σ_t² = β_t²/(2 α_t (1 − ᾱ_t)) for t = 1..T, shape ``(T,)`` (Ho et al. 2020,
    Eq. 12), NaN where α_t = 0: at zero terminal SNR (β_T = 1) μ̃_T = √ᾱ_{T−1} x̂_0 does
    not depend on x_T, μ_θ has no ε-form (it would divide by √α_T = 0), and L_{T−1} is
    not a multiple of ‖ε − ε_θ‖². NaN says "undefined", never a number."""
    s = schedule
    den = 2.0 * s.alphas * s.one_minus_alpha_bar
    return np.divide(s.betas**2, den, out=np.full(s.T, np.nan), where=den > 0)


def eps_weight(schedule: Schedule, sigma2: np.ndarray) -> np.ndarray:
    """λ_t = β_t²/(2σ_t² α_t (1 − ᾱ_t)) for t = 2..T, shape ``(T − 1,)``: the weight of
    ‖ε − ε_θ‖² in L_{t−1} − C_t (Ho et al. 2020, Eq. 12); NaN where α_t = 0
    (:func:`lambda_sigma2`). ``sigma2`` is σ_t² for t = 1..T (shape ``(T,)``) or for
    t = 2..T (shape ``(T − 1,)``)."""
    s = schedule
    sig = np.asarray(sigma2, dtype=np.float64)
    sig = sig[1:] if sig.shape == (s.T,) else sig
    return lambda_sigma2(s)[1:] / sig


def gaussian_posterior_trace(cov: np.ndarray, alpha_bar: np.ndarray) -> np.ndarray:
    """tr Cov(x_0|x_t) for x_0 ~ N(m, S): Σ_j s_j(1 − ᾱ)/(ᾱ s_j + 1 − ᾱ) over the
    eigenvalues s_j of S (Bishop 2006, Eq. 2.116 with x_t|x_0 ~ N(√ᾱ x_0, (1 − ᾱ)I));
    one value per entry of ``alpha_bar``."""
    s = np.linalg.eigvalsh(np.asarray(cov, dtype=np.float64))
    a = np.asarray(alpha_bar, dtype=np.float64)[..., None]
    return (s * (1.0 - a) / (a * s + (1.0 - a))).sum(-1)


def gaussian_bayes_terms(
    schedule: Schedule, mean: np.ndarray, cov: np.ndarray, variance: VarianceType | str
) -> dict[str, Any]:
    """Exact expected terms of the Bayes-optimal model for Gaussian data x_0 ~ N(m, S)
    with a fixed reverse variance, in nats per example:

    * ``prior``: E[L_T] = ½(ᾱ_T(tr S + ‖m‖²) − Dᾱ_T − D log(1 − ᾱ_T));
    * ``transitions`` ``(T − 1,)``: coef1_t² tr Cov(x_0|x_t)/(2σ_t²) + C_t, since
      μ̃_t is linear in x_0 with coefficient coef1_t = β_t√ᾱ_{t−1}/(1 − ᾱ_t)
      (Ho et al. 2020, Eqs. 7–8);
    * ``decoder``: tr Cov(x_0|x_1)/(2σ_1²) + (D/2) log(2πσ_1²) (the continuous decoder
      with mean E[x_0|x_1]);
    * ``total``: their sum.
    """
    s = schedule
    m = np.asarray(mean, dtype=np.float64).reshape(-1)
    S = np.asarray(cov, dtype=np.float64)
    D = m.size
    sig = reverse_variance(s, variance)
    coef1 = s.betas[1:] * np.sqrt(s.alpha_bar_prev[1:]) / s.one_minus_alpha_bar[1:]
    tr = gaussian_posterior_trace(S, s.alpha_bar)
    prior = float(prior_kl_closed_form(np.array([np.trace(S) + m @ m]), D, s)[0])
    trans = coef1**2 * tr[1:] / (2.0 * sig[1:]) + variance_mismatch(s, variance, D)
    dec = float(tr[0] / (2.0 * sig[0]) + 0.5 * D * (_LOG_2PI + math.log(sig[0])))
    return {
        "prior": prior, "transitions": trans, "decoder": dec,
        "total": prior + float(trans.sum()) + dec,
    }


def bayes_optimal_model(
    dataset: Dataset, schedule: Schedule, parameterization: Parameterization | str = "eps"
) -> Callable[[Tensor, Tensor], Tensor]:
    """The Bayes-optimal mean predictor ``model(x_t, t)`` of a data law with known
    E[x_0|x_t], output in the given parameterisation (fixed variance only).

    x̂_0 = E[x_0|x_t] minimises E‖x_0 − x̂_0‖² given x_t, hence every L_{t−1} among
    models with the same σ_t² (μ̃_t is linear in x_0; Ho et al. 2020, Eq. 8). The
    other targets follow from x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε (Eq. 4) and
    v = √ᾱ_t ε − √(1 − ᾱ_t) x_0 (Salimans & Ho 2022, Sec. 4).
    """
    if not dataset.has_posterior_mean:
        raise ValueError(f"dataset {dataset.name!r} has no exact E[x0|x_t].")
    param = Parameterization.parse(parameterization)
    diffusion = GaussianDiffusion(schedule, param, VarianceType.BETA)
    alpha_bar = torch.from_numpy(np.array(schedule.alpha_bar))

    def model(x_t: Tensor, t: Tensor) -> Tensor:
        x = x_t.to(torch.float64)
        x0 = dataset.posterior_mean_x0(x.cpu(), alpha_bar[t.cpu() - 1]).to(x.device)
        if param is Parameterization.X0:
            out = x0
        elif param is Parameterization.EPS:
            out = diffusion.predict_eps_from_x0(x, t, x0)
        elif param is Parameterization.V:
            out = diffusion.predict_v(x0, t, diffusion.predict_eps_from_x0(x, t, x0))
        else:
            out = diffusion.q_posterior_mean_variance(x0, x, t).mean
        return out.to(x_t.dtype)

    return model


def entropy_floor(dataset: Dataset | None, decoder: DecoderType) -> tuple[float, float, str] | None:
    """The data-entropy floor of E[total] as ``(value, abs_error, kind)``, or None.

    E_{x_0}[L_vlb] ≥ E[−log p_θ(x_0)] ≥ H(x_0) (Gibbs' inequality; Ho et al. 2020,
    Eq. 3): differential entropy for a continuous law with a density and the
    continuous decoder; Shannon entropy for discrete data and the discretised
    decoder (a pmf on the grid). A continuous decoder on discrete data has no
    floor (a density may be arbitrarily large at the points).
    """
    if dataset is None or not dataset.has_entropy:
        return None
    continuous = dataset.has_density and dataset.levels is None
    if decoder is DecoderType.GAUSSIAN and not continuous:
        return None
    if decoder is DecoderType.DISCRETIZED and dataset.levels is None:
        return None
    ent = dataset.entropy()
    return float(ent.value), float(ent.abs_error), ent.kind


def gaussian_law(dataset: Dataset | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(mean, cov) if ``dataset`` is a single Gaussian, else None."""
    if isinstance(dataset, GaussianMixture) and dataset.K == 1:
        return dataset.means[0].numpy(), dataset.covs[0].numpy()
    return None
