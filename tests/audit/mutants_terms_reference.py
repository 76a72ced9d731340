"""Reference values for the audit's per-row terms, written out in numpy from Ho et al. 2020
(Eqs. 4, 6, 7, 11, 12 and the Gaussian KL), independently of ddpm_theory's process code.

Every function takes the schedule as its β_1..β_T alone and recomputes α_t, ᾱ_t, ᾱ_{t−1}
and β̃_t itself.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def coefficients(betas: np.ndarray) -> dict[str, np.ndarray]:
    """α_t, ᾱ_t, ᾱ_{t−1} (ᾱ_0 = 1) and β̃_t = β_t(1 − ᾱ_{t−1})/(1 − ᾱ_t), index t − 1."""
    b = np.asarray(betas, dtype=np.float64)
    a = 1.0 - b
    ab = np.cumprod(a)
    abp = np.concatenate([[1.0], ab[:-1]])
    return {"beta": b, "alpha": a, "ab": ab, "abp": abp, "bt": b * (1.0 - abp) / (1.0 - ab)}


def rows(betas: np.ndarray, x0: np.ndarray, t: np.ndarray, eps: np.ndarray,
         eps_model, log_sigma2=None, *, decoder: str = "gaussian", levels: int | None = None,
         x0_star=None, cdf: str = "exact", param: str = "eps") -> dict[str, np.ndarray]:
    """Per-row loss, mse, weighted, floor (and bayes when ``x0_star(x_t, ᾱ_t)`` is given)
    for an ε-predicting model ``eps_model(x_t, t) -> (ε̂, log σ²)`` or ``-> ε̂`` with
    ``log_sigma2`` (shape (T,), σ_t² per t) fixed; ``param="x0"``: the model predicts x̂_0
    and ε̂ = (x_t − √ᾱ_t x̂_0)/√(1 − ᾱ_t) (Eq. 4). Arrays are (R, D)."""
    c = coefficients(betas)
    i = t - 1
    col = {k: v[i][:, None] for k, v in c.items()}
    x_t = np.sqrt(col["ab"]) * x0 + np.sqrt(1.0 - col["ab"]) * eps
    out = eps_model(x_t, t)
    if log_sigma2 is None:
        eps_hat, lv = out
    else:
        eps_hat, lv = out, np.broadcast_to(log_sigma2[i][:, None], x_t.shape)
    if param == "x0":
        eps_hat = (x_t - np.sqrt(col["ab"]) * eps_hat) / np.sqrt(1.0 - col["ab"])
    s2 = np.exp(lv)

    def mean_from(eps_h):  # μ_θ = (x_t − β_t/√(1 − ᾱ_t) ε̂)/√α_t (Eq. 11)
        return (x_t - col["beta"] / np.sqrt(1.0 - col["ab"]) * eps_h) / np.sqrt(col["alpha"])

    def posterior(x0_):  # μ̃_t (Eq. 7)
        return (col["beta"] * np.sqrt(col["abp"]) / (1.0 - col["ab"]) * x0_
                + np.sqrt(col["alpha"]) * (1.0 - col["abp"]) / (1.0 - col["ab"]) * x_t)

    def kl(mu_p, mu_q):  # KL(N(μ̃, β̃) ‖ N(μ_θ, σ²)) summed over D
        bt = np.where(t[:, None] == 1, 1.0, col["bt"])
        return (0.5 * (lv - np.log(bt) + bt / s2 + (mu_p - mu_q) ** 2 / s2 - 1.0)).sum(1)

    mu = mean_from(eps_hat)
    mu_tilde = posterior(x0)
    first = t == 1
    if decoder == "gaussian":
        nll = (0.5 * (np.log(2 * np.pi) + lv) + (x0 - mu) ** 2 / (2 * s2)).sum(1)
    else:
        nll = -discretized_log_prob(x0, mu, np.sqrt(s2), levels, cdf).sum(1)
    loss = np.where(first, nll, kl(mu_tilde, mu))
    err2 = (eps - eps_hat) ** 2
    lam = col["beta"] ** 2 / (2.0 * s2 * col["alpha"] * (1.0 - col["ab"]))
    r = np.where(first[:, None], 1.0, col["bt"] / s2)
    out_rows = {"loss": loss, "mse": err2.sum(1),
                "weighted": np.where(first, 0.0, (lam * err2).sum(1)),
                "floor": np.where(first, 0.0, (0.5 * (r - 1.0 - np.log(r))).sum(1))}
    if x0_star is not None:
        mu_star = posterior(x0_star(x_t, col["ab"]))
        nll_star = (0.5 * (np.log(2 * np.pi) + lv) + (x0 - mu_star) ** 2 / (2 * s2)).sum(1)
        out_rows["bayes"] = np.where(first, nll_star if decoder == "gaussian" else np.nan,
                                     kl(mu_tilde, mu_star))
    return out_rows


def discretized_log_prob(x: np.ndarray, mean: np.ndarray, sd: np.ndarray, levels: int,
                         cdf: str = "exact") -> np.ndarray:
    """log P(bin of x) for N(mean, sd²), bins of half-width 1/(levels − 1) on [−1, 1] with the
    edge bins open (Ho et al. 2020, Eq. 13), by scipy's normal CDF (``exact``) or by the tanh
    approximation ½(1 + tanh(√(2/π)(z + 0.044715 z³))) of the paper's released code."""
    h = 1.0 / (levels - 1)
    upper = (np.where(x > 1.0 - 1e-9, np.inf, x + h) - mean) / sd
    lower = (np.where(x < -1.0 + 1e-9, -np.inf, x - h) - mean) / sd
    if cdf == "exact":
        return np.log(stats.norm.cdf(upper) - stats.norm.cdf(lower))

    def phi(z: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            v = 0.5 * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (z + 0.044715 * z**3)))
        return np.where(np.isposinf(z), 1.0, np.where(np.isneginf(z), 0.0, v))

    return np.log(phi(upper) - phi(lower))


def prior_kl(betas: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """L_T = KL(N(√ᾱ_T x_0, (1 − ᾱ_T) I) ‖ N(0, I)) per example."""
    ab = coefficients(betas)["ab"][-1]
    D = x0.shape[1]
    return 0.5 * (ab * (x0**2).sum(1) + D * ((1.0 - ab) - 1.0 - math.log(1.0 - ab)))


def chain_bound(betas: np.ndarray, x0: np.ndarray, z: np.ndarray, eps_model, *,
                decoder: str = "gaussian", levels: int | None = None,
                cdf: str = "exact") -> np.ndarray:
    """log q(x_{1:T}|x_0) − log p_θ(x_{0:T}) per example on the chain x_t = √α_t x_{t−1} +
    √β_t z_t (Ho et al. 2020, Eqs. 2, 3), p(x_T) = N(0, I); z is (T, B, D). σ_t² = β_t, or
    exp(log σ²) where ``eps_model`` returns (ε̂, log σ²)."""
    c = coefficients(betas)
    T = len(betas)
    xs = [x0]
    for k in range(T):
        xs.append(np.sqrt(c["alpha"][k]) * xs[-1] + np.sqrt(c["beta"][k]) * z[k])

    def log_normal(x, mean, var):
        return (-0.5 * (x - mean) ** 2 / var - 0.5 * np.log(2 * np.pi * var)).sum(1)

    log_q = sum(log_normal(xs[t], np.sqrt(c["alpha"][t - 1]) * xs[t - 1], c["beta"][t - 1])
                for t in range(1, T + 1))
    log_p = log_normal(xs[T], 0.0, 1.0)
    for t in range(1, T + 1):
        tt = np.full(x0.shape[0], t)
        eps_hat = eps_model(xs[t], tt)
        var = c["beta"][t - 1]
        if isinstance(eps_hat, tuple):
            eps_hat, var = eps_hat[0], np.exp(eps_hat[1])
        mu = (xs[t] - c["beta"][t - 1] / np.sqrt(1 - c["ab"][t - 1]) * eps_hat) / np.sqrt(
            c["alpha"][t - 1])
        if t == 1 and decoder == "discretized":
            assert levels is not None
            log_p = log_p + discretized_log_prob(x0, mu, np.sqrt(var), levels, cdf).sum(1)
        else:
            log_p = log_p + log_normal(xs[t - 1], mu, var)
    return log_q - log_p
