"""The questions of the homework "Diffusion, Denoising, and Deep Networks" (Sahai et al.),
answered by the library.

* 1.1 -- the edge cases β ≡ 0 and β ≡ 1: :func:`edge_cases` (derived in
  ``forward-marginal``, parts "Edge case: every β_t = 0/1");
* 1.2 -- :func:`compute_mean` and :func:`compute_cov` of q(x_t | x_0) (Ho et al. 2020,
  Eq. 4), float64 with validated inputs;
* 1.4 -- the closed form q(x_T | x_0) = N(√ᾱ_T x_0, (1 − ᾱ_T) I): :func:`alpha_bar`;
* 2 and 3 -- derivations ``elbo-decomposition``, ``bayes-posterior``, ``mean-matching``,
  ``loss-weights`` and ``loss-weight-claims`` (:data:`DERIVATIONS`);
* 4 -- the two losses differ pointwise by the weight β_t²/(α_t(1 − ᾱ_t)) (Ho et al. 2020,
  Eq. 12); their timing is measured by ``benchmarks/bench_losses.py``;
* 5.2 -- forward versus reverse states: ``ddpm_theory/backend/plots.py`` draws them; the
  reverse chain produces a new sample, not the x_0 that was noised, because x_T keeps
  only √ᾱ_T of it (:func:`signal_retained`).
"""

from __future__ import annotations

import numpy as np

from .domains import BETA, TIMESTEP, DomainError

__all__ = ["alpha_bar", "compute_mean", "compute_cov", "edge_cases", "signal_retained",
           "DERIVATIONS"]

#: homework question -> the registered derivations that answer it
DERIVATIONS: dict[str, tuple[str, ...]] = {
    "1.1": ("forward-marginal",),
    "1.4": ("forward-marginal",),
    "2.1": ("elbo-gap", "elbo-decomposition"),
    "2.2": ("bayes-posterior", "elbo-decomposition"),
    "3.1": ("mean-matching", "bayes-posterior"),
    "3.2": ("loss-weights", "loss-weight-claims"),
}


def _betas(betas) -> np.ndarray:
    b = np.asarray(betas, dtype=np.float64)
    if b.ndim != 1 or b.size == 0:
        raise DomainError(f"betas must be a non-empty 1-D schedule; got shape {b.shape}")
    # β ∈ [0, 1]: the homework's edge cases 0 and 1 are allowed here
    if np.any(b == 0):
        if np.any((b < 0) | (b > 1) | np.isnan(b)):
            BETA.validate(np.where(b == 0, 0.5, b), "betas")
    else:
        BETA.validate(b, "betas")
    return b


def _t(t: int, n: int) -> int:
    TIMESTEP.validate(t, "t")
    if int(t) > n:
        raise DomainError(f"t must lie in 1..{n} (the schedule's length); got {t}")
    return int(t)


def alpha_bar(betas, t: int) -> float:
    """ᾱ_t = ∏_{s ≤ t} (1 − β_s) (Ho et al. 2020, §2), with t in 1..len(betas)."""
    b = _betas(betas)
    return float(np.prod(1.0 - b[: _t(t, b.size)]))


def compute_mean(x0, betas, t: int) -> np.ndarray:
    """E[x_t | x_0] = √ᾱ_t x_0 (Ho et al. 2020, Eq. 4; homework question 1.2)."""
    x = np.asarray(x0, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise DomainError("x0 must be finite")
    return np.sqrt(alpha_bar(betas, t)) * x


def compute_cov(betas, t: int, dim: int = 1) -> np.ndarray:
    """Cov[x_t | x_0] = (1 − ᾱ_t) I_dim (Ho et al. 2020, Eq. 4; homework question 1.2)."""
    if int(dim) != dim or dim < 1:
        raise DomainError(f"dim must be a positive integer; got {dim!r}")
    return (1.0 - alpha_bar(betas, t)) * np.eye(int(dim))


def edge_cases(x0, T: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Question 1.1: (mean, covariance) of q(x_T|x_0) for β ≡ 0 (x_T = x_0, no noise)
    and β ≡ 1 (x_T ~ N(0, I), independent of x_0)."""
    x = np.atleast_1d(np.asarray(x0, dtype=np.float64))
    return {
        "beta=0": (compute_mean(x, np.zeros(T), T), compute_cov(np.zeros(T), T, x.size)),
        "beta=1": (compute_mean(x, np.ones(T), T), compute_cov(np.ones(T), T, x.size)),
    }


def signal_retained(betas) -> float:
    """√ᾱ_T: the coefficient of x_0 left in x_T (question 5.2 and the catalogue's
    terminal-latent entries)."""
    b = _betas(betas)
    return float(np.sqrt(alpha_bar(b, b.size)))
