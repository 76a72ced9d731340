"""Shared pieces of the audit tests: exact predictors written from closed forms
(independently of the library's E[x_0|x_t] code) and the anchor deviations."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from ddpm_theory.audit import elbo_terms, trajectory_bound
from ddpm_theory.backend import Schedule


def shrinkage_eps_model(schedule: Schedule):
    """ε̂ = √(1 − ᾱ_t) x_t: the exact posterior-mean ε-predictor for x_0 ~ N(0, I)
    (x̂_0 = √ᾱ_t x_t, since Cov(x_0, x_t) = √ᾱ_t I and Var x_t = I)."""
    s = torch.from_numpy(np.sqrt(schedule.one_minus_alpha_bar))

    def model(x_t: Tensor, t: Tensor) -> Tensor:
        return s[t - 1].reshape(-1, *([1] * (x_t.ndim - 1))).to(x_t) * x_t

    return model


def gaussian_eps_model(schedule: Schedule, mean: np.ndarray, cov: np.ndarray):
    """Exact ε-predictor for x_0 ~ N(m, S): x̂_0 = m + √ᾱ S (ᾱS + (1 − ᾱ)I)⁻¹(x_t − √ᾱ m)
    (Gaussian conditioning), ε̂ = (x_t − √ᾱ x̂_0)/√(1 − ᾱ)."""
    m = torch.as_tensor(mean, dtype=torch.float64)
    S = torch.as_tensor(cov, dtype=torch.float64)
    ab = torch.from_numpy(np.array(schedule.alpha_bar))
    om = torch.from_numpy(np.array(schedule.one_minus_alpha_bar))
    eye = torch.eye(m.numel(), dtype=torch.float64)

    def model(x_t: Tensor, t: Tensor) -> Tensor:
        a = ab[t - 1].reshape(-1, 1, 1)
        C = a * S + om[t - 1].reshape(-1, 1, 1) * eye
        r = (x_t - a[:, :, 0].sqrt() * m).unsqueeze(-1)
        x0 = m + (a.sqrt() * S @ torch.linalg.solve(C, r)).squeeze(-1)
        return (x_t - a[:, :, 0].sqrt() * x0) / om[t - 1].reshape(-1, 1).sqrt()

    return model


def std_normal_nll(x0: Tensor) -> np.ndarray:
    """−log N(x_0; 0, I) per example."""
    x = x0.reshape(x0.shape[0], -1).to(torch.float64)
    return (0.5 * (x**2).sum(1) + 0.5 * x.shape[1] * math.log(2 * math.pi)).numpy()


def trajectory_deviation(T: int, seed: int = 0, B: int = 32) -> float:
    """max_i |trajectory bound − (−log N(x_0^i; 0, 1))| for the exact model, σ² = β."""
    s = Schedule.linear(T)
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randn(B, 1, generator=g, dtype=torch.float64)
    tb = trajectory_bound(shrinkage_eps_model(s), x0, s, variance="beta", decoder="gaussian",
                          generator=g)
    return float(np.abs(tb.numpy() - std_normal_nll(x0)).max())


def quadrature_deviation(T: int, B: int = 16) -> float:
    """max_i |quadrature total − (−log N(x_0^i; 0, 1))| for the exact model, σ² = β."""
    s = Schedule.linear(T)
    x0 = torch.linspace(-3.0, 3.0, B, dtype=torch.float64).reshape(B, 1)
    r = elbo_terms(shrinkage_eps_model(s), x0, s, variance="beta", decoder="gaussian",
                   mode="quadrature", n_nodes=4)
    return float(np.abs(r.per_example_total - std_normal_nll(x0)).max())
