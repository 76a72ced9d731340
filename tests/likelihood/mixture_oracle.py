"""Exact expected bound terms of the Bayes-optimal model of a Gaussian mixture, by
Gauss–Hermite quadrature (a test oracle, independent of the audit's Monte-Carlo).

With μ̃_t linear in x_0 (coefficient coef1_t = β_t√ᾱ_{t−1}/(1 − ᾱ_t); Ho et al. 2020,
Eq. 7) and x̂_0 = E[x_0|x_t], E[L_{t−1}] = coef1_t² E tr Cov(x_0|x_t)/(2σ_t²) + C_t
(Eq. 8), and E tr Cov(x_0|x_t) = E‖x_0‖² − E‖E[x_0|x_t]‖² (the law of total variance).
The outer expectation over x_t ~ Σ_k w_k N(√ᾱ m_k, C_k) is a tensor Gauss–Hermite rule
per component; ``n`` and ``2n`` nodes give the value and an error estimate.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numpy.polynomial.hermite_e import hermegauss

from ddpm_theory.audit.bounds import prior_kl_closed_form, reverse_variance, variance_mismatch
from ddpm_theory.backend.mixture import GaussianMixture
from ddpm_theory.backend.schedule import Schedule


def _second_moment_of_posterior_mean(law: GaussianMixture, ab: float, n: int) -> float:
    """E‖E[x_0|x_t]‖² under q(x_t) at one ᾱ, by quadrature."""
    d = law.dim
    z1, w1 = hermegauss(n)
    w1 = w1 / math.sqrt(2 * math.pi)
    grids = np.meshgrid(*([z1] * d), indexing="ij")
    z = torch.as_tensor(np.stack([g.ravel() for g in grids], 1))
    wz = torch.as_tensor(np.prod(np.meshgrid(*([w1] * d), indexing="ij"), 0).ravel())
    total = 0.0
    eye = torch.eye(d, dtype=torch.float64)
    for k in range(law.K):
        C = ab * law.covs[k] + (1 - ab) * eye
        x = math.sqrt(ab) * law.means[k] + z @ torch.linalg.cholesky(C).T
        pm = law.posterior_mean_x0(x, ab)
        total += float(law.weights[k]) * float((wz * (pm * pm).sum(1)).sum())
    return total


def bayes_terms(law: GaussianMixture, s: Schedule, variance: str, n: int = 40) -> dict:
    """prior, transitions ``(T − 1,)``, decoder (continuous, mean E[x_0|x_1]), total; and
    ``quad_error``, |rule(n) − rule(2n)| summed over the terms."""
    D = law.dim
    ex2 = float(sum(float(law.weights[k]) * (float(torch.trace(law.covs[k]))
                                             + float(law.means[k] @ law.means[k]))
                    for k in range(law.K)))
    sig = reverse_variance(s, variance)
    coef1 = s.betas[1:] * np.sqrt(s.alpha_bar_prev[1:]) / s.one_minus_alpha_bar[1:]
    tr, err = [], []
    for ab in s.alpha_bar:
        a, b = (ex2 - _second_moment_of_posterior_mean(law, float(ab), m) for m in (n, 2 * n))
        tr.append(b)
        err.append(abs(a - b))
    tr_a, err_a = np.array(tr), np.array(err)
    trans = coef1**2 * tr_a[1:] / (2 * sig[1:]) + variance_mismatch(s, variance, D)
    dec = tr_a[0] / (2 * sig[0]) + 0.5 * D * (math.log(2 * math.pi) + math.log(sig[0]))
    prior = float(prior_kl_closed_form(np.array([ex2]), D, s)[0])
    quad = float((coef1**2 * err_a[1:] / (2 * sig[1:])).sum() + err_a[0] / (2 * sig[0]))
    return {"prior": prior, "transitions": trans, "decoder": float(dec),
            "total": prior + float(trans.sum()) + float(dec), "quad_error": quad}
