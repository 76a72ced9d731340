"""The continuous-time variational bound (Kingma et al. 2021, "Variational
Diffusion Models"), computed for a model on the continuous interpolation of a
discrete schedule (:class:`ContinuousSchedule`), on s ∈ [s_0, T].

With z_s = √ᾱ(s) x + √(1 − ᾱ(s)) ε and SNR(s) = ᾱ/(1 − ᾱ) decreasing,

* prior: L_prior = KL(q(z_T|x) ‖ N(0, I)) (Kingma et al. 2021, Sec. 4);
* diffusion: L_∞ = −½ ∫_{s_0}^T SNR'(s) E_ε‖x − x̂_θ(z_s; s)‖² ds (Kingma et al.
  2021, Eq. 15 — there with t ∈ [0, 1]), estimated with n times per example,
  stratified in log(1 + SNR) (:func:`_slots`);
* decoder: −log N(x; x̂_θ(z_{s_0}; s_0), SNR(s_0)⁻¹ I) (a Gaussian decoder at the
  start of the chain; s_0 = 1 puts z_{s_0} where the discrete chain's x_1 is).

With ``n_steps = N`` the diffusion term is instead the N-step loss (Kingma et al.
2021, Eq. 13 written with x̂):
(N/2) E_{i ~ U{1..N}}[(SNR(s_{i−1}) − SNR(s_i)) ‖x − x̂_θ(z_{s_i}; s_i)‖²],
s_i = s_0 + (T − s_0) i/N, which decreases to L_∞ as N grows (their Sec. 4).
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..audit.bounds import prior_kl_closed_form
from ..backend.checkpoint import Checkpoint
from ..backend.device import resolve_device
from ..backend.enums import Parameterization, VarianceType
from ..backend.schedule import Schedule
from .continuous import ContinuousSchedule
from .ode import Model, _model_dtype, _resolve
from .record import ContinuousBound

__all__ = ["continuous_bound", "gaussian_continuous_bound", "gaussian_discrete_diffusion_loss"]

_LOG_2PI = math.log(2.0 * math.pi)


def _x0_hat(model: Model, param: Parameterization, learned: bool, dtype: torch.dtype,
            cont: ContinuousSchedule, z: Tensor, s: np.ndarray) -> Tensor:
    """x̂_θ(z_s; s) per row (each row its own s), float64."""
    t = torch.from_numpy(s).to(z.device)
    with torch.no_grad():
        out = model(z.to(dtype), t).to(torch.float64)
    if learned:
        out = out[:, : z.shape[1]]
    shape = (-1, *([1] * (z.ndim - 1)))
    ab = torch.from_numpy(cont.alpha_bar(s)).to(z.device).reshape(shape)
    sig = torch.from_numpy(np.sqrt(cont.one_minus_alpha_bar(s))).to(z.device).reshape(shape)
    if param is Parameterization.X0:
        return out
    if param is Parameterization.EPS:  # x = (z − σ ε)/√ᾱ (Ho et al. 2020, Eq. 4)
        return (z - sig * out) / ab.sqrt()
    return ab.sqrt() * z - sig * out  # x = √ᾱ z − σ v (Salimans & Ho 2022, Sec. 4)


def _slots(cont: ContinuousSchedule, B: int, n: int, s0: float, n_steps: int | None,
           gen: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Times s ``(B, n)`` and weights w ``(B, n)`` with E[Σ_k w_k ‖x − x̂(z_{s_k})‖²] equal
    to the diffusion term.

    The times are stratified in ρ = log(1 + SNR(s)), u_k = (k + U_k)/n, U_k ~ U(0, 1):
    the Bayes integrand ½(−SNR')·tr Cov(x|z_s) is −½ dρ/ds for unit-variance data, so
    it is nearly flat in ρ. The map u → s is linear interpolation on a grid of 4097
    times; the weight is ½(−SNR'(s)) divided by the exact density of that map
    (piecewise constant), so the estimate is unbiased whatever the grid.
    For ``n_steps = N``, step i is drawn with probability ∝ ρ(s_{i−1}) − ρ(s_i)
    (systematically in its CDF) and weighted by ½(SNR(s_{i−1}) − SNR(s_i))/(n p_i).
    """
    T = cont.T
    u = (np.arange(n)[None, :] + torch.rand(B, n, generator=gen, dtype=torch.float64).numpy()) / n
    grid = s0 + (T - s0) * np.linspace(0.0, 1.0, (n_steps or 4096) + 1)
    rho = np.log1p(cont.snr(grid))  # decreasing
    p = (rho[:-1] - rho[1:]) / (rho[0] - rho[-1])  # mass of each grid interval
    cdf = np.concatenate([[0.0], np.cumsum(p)])
    cdf[-1] = 1.0
    j = np.minimum(np.searchsorted(cdf, u, side="right") - 1, p.size - 1)
    if n_steps is not None:
        snr = cont.snr(grid)
        return grid[j + 1], 0.5 * (snr[j] - snr[j + 1]) / (n * p[j])
    width = grid[1] - grid[0]
    s = grid[j] + width * (u - cdf[j]) / p[j]
    s = np.clip(s, grid[j], grid[j + 1])  # rounding only; s stays in its interval
    return s, -0.5 * cont.snr_derivative(s) * width / (n * p[j])


def continuous_bound(
    model: Model | Checkpoint | str | os.PathLike[str],
    x0: Tensor,
    schedule: Schedule | None = None,
    *,
    parameterization: Parameterization | str | None = None,
    variance: VarianceType | str | None = None,
    n_times: int = 16,
    s0: float = 1.0,
    n_steps: int | None = None,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
) -> ContinuousBound:
    """The continuous-time bound of ``model`` on ``x0`` (module docstring), per example.

    Parameters
    ----------
    model, schedule, parameterization, variance
        As for :func:`~ddpm_theory.likelihood.ode_nll` (the model is queried at real
        paper times s ∈ [s_0, T]).
    n_times
        Stratified times per example for the diffusion term.
    s0
        Start of the chain in paper time (SNR(s_0) is the largest SNR).
    n_steps
        None for L_∞; N for the N-step loss (Kingma et al. 2021, Eq. 13).
    """
    started = time.perf_counter()
    dev = resolve_device(device)
    fn, sched, param, var = _resolve(model, schedule, parameterization, variance, dev)
    cont = ContinuousSchedule(sched)
    T = cont.T
    _check(n_times, s0, T, n_steps)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    x = x0.detach().to(dev, torch.float64)
    B, D = int(x.shape[0]), int(x[0].numel())
    dtype = _model_dtype(fn)
    s, w = _slots(cont, B, n_times, s0, n_steps, gen)
    diff = np.zeros(B)
    for k in range(n_times):
        xhat = _noised_prediction(fn, param, var.is_learned, dtype, cont, x, s[:, k], gen)
        diff += w[:, k] * ((x - xhat) ** 2).reshape(B, -1).sum(1).cpu().numpy()
    xhat0 = _noised_prediction(fn, param, var.is_learned, dtype, cont, x, np.full(B, s0), gen)
    snr0 = float(cont.snr(s0))
    err0 = ((x - xhat0) ** 2).reshape(B, -1).sum(1).cpu().numpy()
    dec = 0.5 * D * (_LOG_2PI - math.log(snr0)) + 0.5 * snr0 * err0
    prior = prior_kl_closed_form((x * x).reshape(B, -1).sum(1).cpu().numpy(), D, sched)
    return ContinuousBound(prior, diff, dec, D, n_times, time.perf_counter() - started)


def _noised_prediction(fn: Model, param: Parameterization, learned: bool, dtype: torch.dtype,
                       cont: ContinuousSchedule, x: Tensor, s: np.ndarray,
                       gen: torch.Generator) -> Tensor:
    shape = (-1, *([1] * (x.ndim - 1)))
    ab = torch.from_numpy(cont.alpha_bar(s)).to(x.device).reshape(shape)
    om = torch.from_numpy(cont.one_minus_alpha_bar(s)).to(x.device).reshape(shape)
    eps = torch.randn(x.shape, generator=gen, dtype=torch.float64).to(x.device)
    z = ab.sqrt() * x + om.sqrt() * eps
    return _x0_hat(fn, param, learned, dtype, cont, z, s)


def _check(n_times: Any, s0: float, T: float, n_steps: Any) -> None:
    if isinstance(n_times, bool) or not isinstance(n_times, int) or n_times < 1:
        raise ValueError(f"n_times must be a positive integer; got {n_times!r}.")
    if not 0.0 < s0 < T:
        raise ValueError(f"s0 must lie in (0, T = {T:g}) (SNR(0) is infinite); got {s0!r}.")
    if n_steps is not None and (isinstance(n_steps, bool) or not isinstance(n_steps, int)
                                or n_steps < 1):
        raise ValueError(f"n_steps must be None or a positive integer; got {n_steps!r}.")


# -- closed forms for a Gaussian law with its Bayes-optimal model ---------------------------
def _posterior_trace(eig: np.ndarray, snr: np.ndarray) -> np.ndarray:
    """tr Cov(x|z) = Σ_j λ_j/(1 + SNR λ_j) for x ~ N(m, S), eigenvalues λ_j of S."""
    return (eig / (1.0 + np.asarray(snr)[..., None] * eig)).sum(-1)


def gaussian_continuous_bound(cont: ContinuousSchedule, mean: np.ndarray, cov: np.ndarray,
                              s0: float = 1.0) -> dict[str, float]:
    """E over x ~ N(m, S) of each term, for x̂ = E[x|z] (the Bayes-optimal model):
    diffusion = ½ Σ_j log((1 + SNR(s_0)λ_j)/(1 + SNR(T)λ_j)), since
    −½ SNR' λ/(1 + SNR λ) = −½ d log(1 + SNR λ)/ds; decoder = (D/2) log(2π/SNR(s_0))
    + ½ SNR(s_0) tr Cov(x|z_{s_0}); prior as L_T (Ho et al. 2020, Eq. 5)."""
    eig = np.linalg.eigvalsh(np.asarray(cov, dtype=np.float64))
    m = np.asarray(mean, dtype=np.float64).reshape(-1)
    D = m.size
    snr0, snrT = float(cont.snr(s0)), float(cont.snr(cont.T))
    diffusion = 0.5 * float(np.sum(np.log1p(snr0 * eig) - np.log1p(snrT * eig)))
    decoder = 0.5 * D * (_LOG_2PI - math.log(snr0)) + 0.5 * snr0 * float(
        _posterior_trace(eig, np.array(snr0)))
    prior = float(prior_kl_closed_form(np.array([eig.sum() + m @ m]), D, cont.schedule)[0])
    return {"prior": prior, "diffusion": diffusion, "decoder": decoder,
            "total": prior + diffusion + decoder}


def gaussian_discrete_diffusion_loss(cont: ContinuousSchedule, cov: np.ndarray, n_steps: int,
                                     s0: float = 1.0) -> float:
    """The N-step diffusion loss of the Bayes-optimal model of N(m, S) (Kingma et al.
    2021, Eq. 13): ½ Σ_i (SNR(s_{i−1}) − SNR(s_i)) tr Cov(x|z_{s_i})."""
    eig = np.linalg.eigvalsh(np.asarray(cov, dtype=np.float64))
    s = s0 + (cont.T - s0) * np.arange(n_steps + 1) / n_steps
    snr = cont.snr(s)
    return 0.5 * float(np.sum((snr[:-1] - snr[1:]) * _posterior_trace(eig, snr[1:])))
