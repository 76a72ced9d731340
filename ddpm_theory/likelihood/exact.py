"""The Bayes-optimal ε-predictor of a Gaussian mixture, differentiable in x_t.

For x_t = √ᾱ x_0 + √(1 − ᾱ) ε, E[ε | x_t] = −√(1 − ᾱ) ∇ log q(x_t) (Tweedie's
formula; Efron 2011, Eq. 2.8), and for q(x_t) = Σ_k w_k N(√ᾱ m_k, C_k),
C_k = ᾱ S_k + (1 − ᾱ) I,

    ∇ log q(x_t) = −Σ_k r_k(x_t) C_k⁻¹(x_t − √ᾱ m_k),  r_k ∝ w_k N(x_t; √ᾱ m_k, C_k).

This is the exact score, so the probability-flow ODE driven by it transports
q(x_T) to q(x_s) exactly. It is written here in torch ops without detaching, so
autograd gives its exact divergence (the law's own ``posterior_mean_x0`` detaches).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from ..backend.dataset import Dataset
from ..backend.mixture import GaussianMixture
from ..backend.schedule import Schedule
from .continuous import ContinuousSchedule

__all__ = ["exact_eps_model", "mixture_log_prob"]

_LOG_2PI = math.log(2.0 * math.pi)


def _mixture(law: Dataset) -> GaussianMixture:
    if not isinstance(law, GaussianMixture):
        raise ValueError(
            f"the exact score is known in closed form for Gaussian mixtures only; "
            f"{law.name!r} is not one."
        )
    return law


def _components(law: GaussianMixture, x: Tensor, ab: Tensor) -> tuple[Tensor, Tensor]:
    """log w_k N(x; √ᾱ m_k, C_k) ``(B, K)`` and C_k⁻¹(x − √ᾱ m_k) ``(B, K, d)`` for a
    per-row ᾱ ``(B,)``, differentiable in ``x``."""
    d = law.dim
    a = ab.reshape(-1, 1, 1, 1)
    C = a * law.covs.unsqueeze(0) + (1.0 - a) * torch.eye(d, dtype=torch.float64)  # (B,K,d,d)
    L = torch.linalg.cholesky(C)
    diff = x.unsqueeze(1) - ab.sqrt().reshape(-1, 1, 1) * law.means.unsqueeze(0)  # (B, K, d)
    sol = torch.cholesky_solve(diff.unsqueeze(-1), L).squeeze(-1)
    logdet = 2.0 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)  # (B, K)
    log_n = -0.5 * (d * _LOG_2PI + logdet + (diff * sol).sum(-1))
    return torch.log(law.weights).unsqueeze(0) + log_n, sol


def mixture_log_prob(law: Dataset, x: Tensor, alpha_bar: float) -> Tensor:
    """log q(x_t) at one ᾱ, shape ``(B,)`` float64, differentiable in ``x``."""
    z = x.to(torch.float64).reshape(x.shape[0], -1)
    logc, _ = _components(_mixture(law), z, torch.full((z.shape[0],), float(alpha_bar),
                                                       dtype=torch.float64))
    return torch.logsumexp(logc, dim=1)


def _eps(mix: GaussianMixture, cont: ContinuousSchedule, x: Tensor, s: np.ndarray) -> Tensor:
    """E[ε | x_s] = √(1 − ᾱ) Σ_k r_k C_k⁻¹(x − √ᾱ m_k), each row at its own time s."""
    ab = torch.from_numpy(cont.alpha_bar(s)).to(x.device)
    om = torch.from_numpy(cont.one_minus_alpha_bar(s)).to(x.device)
    logc, sol = _components(mix, x, ab)
    r = torch.softmax(logc, dim=1).unsqueeze(-1)
    return om.sqrt().unsqueeze(-1) * (r * sol).sum(1)


def exact_eps_model(
    law: Dataset, schedule: Schedule | ContinuousSchedule
) -> Callable[[Tensor, Tensor], Tensor]:
    """``model(x_t, t)`` → E[ε | x_t] for a Gaussian-mixture law (module docstring).

    ``t`` may be any real paper time in [0, T] (all examples of a call share one t,
    as in an ODE solve, or each has its own); ᾱ(t) is the continuous interpolation
    of :class:`ContinuousSchedule`, equal to ᾱ_t at integer t.
    """
    mix = _mixture(law)
    cont = schedule if isinstance(schedule, ContinuousSchedule) else ContinuousSchedule(schedule)

    def model(x_t: Tensor, t: Tensor) -> Tensor:
        x = x_t.to(torch.float64).reshape(x_t.shape[0], -1)
        ts = t.detach().cpu().to(torch.float64).reshape(-1).expand(x.shape[0]).numpy()
        return _eps(mix, cont, x, ts).reshape(x_t.shape).to(x_t.dtype)

    return model
