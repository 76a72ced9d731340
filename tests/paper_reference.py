"""The reverse step and the bound terms of a DDPM written out from the papers, in numpy
and scipy only, for the convention tests (nothing here calls the library except to read
β_1..β_T, whose values the schedule tests pin separately).

Paper timesteps t = 1..T throughout; arrays indexed by example. A "known model" is a
numpy function ``f(x_t, t) -> output`` that the tests also wrap as a torch module.

Formulas (Ho et al. 2020 unless named):

* ᾱ_t = ∏_{s≤t}(1 − β_s), ᾱ_0 = 1 (Eq. 4); x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε (Eq. 4);
* β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t) β_t; μ̃_t = β_t√ᾱ_{t−1}/(1 − ᾱ_t) x_0 +
  √α_t(1 − ᾱ_{t−1})/(1 − ᾱ_t) x_t (Eq. 7);
* ε-parameterisation: μ_θ = (x_t − β_t/√(1 − ᾱ_t) ε_θ)/√α_t (Eq. 11); x_0, v, μ
  parameterisations: x̂_0 from the output, μ_θ = μ̃_t(x_t, x̂_0); v = √ᾱ ε − √(1 − ᾱ) x_0
  and x̂_0 = √ᾱ x_t − √(1 − ᾱ) v̂ (Salimans & Ho 2022, Sec. 4 and Appendix D);
* σ_t² = β_t or β̃_t (Sec. 3.2), β̃_1 read as β̃_2 and, for the released fixed-large
  variance, σ_1² = β̃_2; learned: log σ² = the output; learned_range: log σ² =
  u log β_t + (1 − u) log β̃_t, u = (v + 1)/2 (Nichol & Dhariwal 2021, Eq. 15);
* KL of two univariate normals with STANDARD DEVIATIONS s1, s2:
  log(s2/s1) + (s1² + (m1 − m2)²)/(2 s2²) − ½;
* decoders: −log N(x_0; μ, σ²) by ``scipy.stats.norm.logpdf(x, loc, scale=σ)``, and the
  discretised decoder of Eq. 13 with ``scipy.stats.norm.cdf``/``sf`` on the bin edges
  x ± 1/(levels − 1), the edge bins open to ±∞.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Step:
    """One reverse step p_θ(x_{t−1}|x_t) = N(mean, var) and the predictions behind it."""

    x_t: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    x0_hat: np.ndarray
    eps_hat: np.ndarray


class Paper:
    """The chain of ``betas`` (β_1..β_T) with every quantity indexed by paper timestep."""

    def __init__(self, betas: np.ndarray) -> None:
        b = [float(v) for v in betas]
        self.T = len(b)
        ab, acc = [1.0], 1.0  # ab[t] = ᾱ_t, ab[0] = 1
        for v in b:
            acc *= 1.0 - v
            ab.append(acc)
        self.beta = np.array([np.nan] + b)  # beta[t] = β_t
        self.ab = np.array(ab)
        self.bt = np.array([np.nan] + [(1 - ab[t - 1]) / (1 - ab[t]) * b[t - 1]
                                       for t in range(1, self.T + 1)])

    def col(self, a: np.ndarray, t: np.ndarray) -> np.ndarray:
        """a[t] as a column to broadcast against (B, D)."""
        return a[np.asarray(t)][:, None]

    def q_sample(self, x0: np.ndarray, t: np.ndarray, eps: np.ndarray) -> np.ndarray:
        ab = self.col(self.ab, t)
        return np.sqrt(ab) * x0 + np.sqrt(1 - ab) * eps

    def posterior(self, x0: np.ndarray, x_t: np.ndarray, t: np.ndarray):
        """(μ̃_t, β̃_t) of q(x_{t−1}|x_t, x_0), Eq. 7 (β̃_1 = 0)."""
        b, ab, abp = self.col(self.beta, t), self.col(self.ab, t), self.col(self.ab, t - 1)
        mean = b * np.sqrt(abp) / (1 - ab) * x0 + np.sqrt(1 - b) * (1 - abp) / (1 - ab) * x_t
        return mean, np.where(np.asarray(t)[:, None] == 1, 0.0, self.col(self.bt, t))

    def sigma2(self, variance: str, t: np.ndarray, var_out: np.ndarray | None) -> np.ndarray:
        t = np.asarray(t)
        b = self.col(self.beta, t)
        bt = self.col(np.where(np.arange(self.T + 1) == 1, self.bt[2], self.bt), t)
        if variance == "beta":
            return b
        if variance == "beta_released":
            return np.where(t[:, None] == 1, self.bt[2], b)
        if variance == "beta_tilde":
            return bt
        assert var_out is not None
        if variance == "learned":
            return np.exp(var_out)
        u = (var_out + 1) / 2
        return np.exp(u * np.log(b) + (1 - u) * np.log(bt))

    def step(self, out: np.ndarray, x_t: np.ndarray, t: np.ndarray, param: str,
             variance: str) -> Step:
        """p_θ(x_{t−1}|x_t) from a model output (second half of dim 1 = variance output)."""
        D = x_t.shape[1]
        learned = variance in ("learned", "learned_range")
        mean_out, var_out = (out[:, :D], out[:, D:]) if learned else (out, None)
        b, ab = self.col(self.beta, t), self.col(self.ab, t)
        abp = self.col(self.ab, t - 1)
        c1 = b * np.sqrt(abp) / (1 - ab)
        c2 = np.sqrt(1 - b) * (1 - abp) / (1 - ab)
        if param == "eps":
            eps = mean_out
            x0 = (x_t - np.sqrt(1 - ab) * eps) / np.sqrt(ab)
            mean = (x_t - b / np.sqrt(1 - ab) * eps) / np.sqrt(1 - b)  # Eq. 11
        else:
            if param == "x0":
                x0 = mean_out
            elif param == "v":
                x0 = np.sqrt(ab) * x_t - np.sqrt(1 - ab) * mean_out
            else:  # "mean": the output is μ_θ; x̂_0 from Eq. 7 solved for x_0
                x0 = (mean_out - c2 * x_t) / c1
            eps = (x_t - np.sqrt(ab) * x0) / np.sqrt(1 - ab)
            mean = mean_out if param == "mean" else c1 * x0 + c2 * x_t
        return Step(x_t, mean, self.sigma2(variance, t, var_out), x0, eps)


def kl_normal_std(m1: np.ndarray, s1: np.ndarray, m2: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """KL(N(m1, s1²) ‖ N(m2, s2²)) per element, s1 and s2 standard deviations."""
    return np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


def gaussian_nll(x: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """−log N(x; mean, var) per element, by scipy (scale = the standard deviation)."""
    return -stats.norm.logpdf(x, loc=mean, scale=np.sqrt(var))


def discretized_nll(x: np.ndarray, mean: np.ndarray, var: np.ndarray,
                    levels: int) -> np.ndarray:
    """−log P(bin of x) for N(mean, var) over the ``levels``-point grid of [−1, 1]
    (Ho et al. 2020, Eq. 13): bin [x − δ, x + δ], δ = 1/(levels − 1), open at ±1."""
    d = 1.0 / (levels - 1)
    s = np.sqrt(var)
    upper = stats.norm.cdf(x + d, loc=mean, scale=s)
    lower = stats.norm.cdf(x - d, loc=mean, scale=s)
    p = np.where(x <= -1 + 1e-9, upper,
                 np.where(x >= 1 - 1e-9, stats.norm.sf(x - d, loc=mean, scale=s), upper - lower))
    return -np.log(p)


def bound_term(paper: Paper, step: Step, x0: np.ndarray, t: np.ndarray, decoder: str,
               levels: int | None) -> np.ndarray:
    """L_{t−1} per example, summed over D: the KL for t ≥ 2, −log p_θ(x_0|x_1) at t = 1."""
    mu_q, var_q = paper.posterior(x0, step.x_t, t)
    first = np.asarray(t)[:, None] == 1
    # both branches are formed for every row and one is kept: the other may be ±inf
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = kl_normal_std(mu_q, np.sqrt(var_q), step.mean, np.sqrt(step.var))
        if decoder == "gaussian":
            nll = gaussian_nll(x0, step.mean, step.var)
        else:
            assert levels is not None
            nll = discretized_nll(x0, step.mean, step.var, levels)
    return np.where(first, nll, kl).sum(1)
